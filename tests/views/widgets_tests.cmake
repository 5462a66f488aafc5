# The sparsity map, density strip and pattern view tests (issue 7), included by
# tests/views/CMakeLists.txt; they read BlazeFace through the model-files plugin.
prunelab_gui_test(views_widgets_test
  tst_widgets_main.cpp
  tst_sparsity_view.cpp
  tst_density_strip.cpp
  tst_pattern_view.cpp
  widgets_test_util.h
  LIBS prunelab_model_files)
