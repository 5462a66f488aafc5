# The sparsity map, density strip and pattern view tests (issue 7), included by
# tests/views/CMakeLists.txt; they read BlazeFace through the model-files plugin.
prunelab_gui_test(views_widgets_test
  tst_widgets_main.cpp
  tst_sparsity_view.cpp
  tst_density_strip.cpp
  tst_pattern_view.cpp
  widgets_test_util.h
  LIBS prunelab_model_files)
# The compiler view and the speed view (issue 7): BlazeFace compiled, and profiled through
# prunelab_refrt.
prunelab_gui_test(views_compiler_test
  tst_compiler_views_main.cpp
  tst_kernels_view.cpp
  tst_speed_view.cpp
  widgets_test_util.h
  LIBS prunelab_model_files prunelab_refrt)
