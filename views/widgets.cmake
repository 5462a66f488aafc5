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
