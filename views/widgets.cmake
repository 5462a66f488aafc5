# The sparsity map, density strip and pattern view (issue 7), included by views/CMakeLists.txt
# after prunelab_views exists, so these widgets plug in without editing the skeleton.
target_sources(prunelab_views PRIVATE
  sparsity/colour_map.h
  sparsity/sparsity_view.h
  sparsity/sparsity_view.cpp
  sparsity/density_strip.h
  sparsity/density_strip.cpp
  patterns/pattern_view.h
  patterns/pattern_view.cpp)
# The compiler view (pipeline steps, generated source, storage picture) and the "why isn't it
# faster?" speed view (issue 7).
target_sources(prunelab_views PRIVATE
  kernels/cpp_highlighter.h
  kernels/cpp_highlighter.cpp
  kernels/storage_diagram.h
  kernels/storage_diagram.cpp
  kernels/kernels_view.h
  kernels/kernels_view.cpp
  speed/speed_view.h
  speed/speed_view.cpp)
# The retrain panel and its W/Z/U animation (issue 7); the trainer itself comes from the app.
target_sources(prunelab_views PRIVATE
  train/retrain_job.h
  train/admm_animation.h
  train/admm_animation.cpp
  train/retrain_panel.h
  train/retrain_panel.cpp)
# The Live tab (issue 8): the engine's live pipeline on a worker thread, two panes, the speedup.
target_sources(prunelab_views PRIVATE
  live/live_pane.h
  live/live_pane.cpp
  live/live_view.h
  live/live_view.cpp)
# The start page (issue 16): demo, lessons, open and recent cards; the app fills in what they do.
target_sources(prunelab_views PRIVATE
  start/start_page.h
  start/start_page.cpp)
# Classroom (K-12) mode (issue 16): the slider, speed meter and thumbnail around its own LiveView.
target_sources(prunelab_views PRIVATE
  classroom/classroom_view.h
  classroom/classroom_view.cpp)
# The lesson player (issue 17): the lessons list, a lesson's steps with their checks' ticks, and
# its printable handout (PDF through Qt's printing support).
target_sources(prunelab_views PRIVATE
  lessons/lesson_handout.h
  lessons/lesson_handout.cpp
  lessons/lesson_player.h
  lessons/lesson_player.cpp)
target_link_libraries(prunelab_views PUBLIC Qt6::PrintSupport)
