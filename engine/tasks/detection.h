// What detectors return (faces, text boxes), in the original image's pixels, and the box maths
// they share: intersection over union and greedy non-maximum suppression.
#pragma once

#include <cstddef>
#include <vector>

namespace prunelab::engine {

struct Point2f {
    float x = 0.0f;
    float y = 0.0f;
};

struct Detection {
    // Axis-aligned box: top-left (x0, y0), bottom-right (x1, y1).
    float x0 = 0.0f, y0 = 0.0f, x1 = 0.0f, y1 = 0.0f;
    float score = 0.0f;
    // Faces: BlazeFace's six keypoints (right eye, left eye, nose tip, mouth, right ear, left
    // ear, as the person sees them). Empty for text.
    std::vector<Point2f> keypoints;
    // Text: the four corners of the rotated box, clockwise from the top-left. Empty for faces.
    std::vector<Point2f> quad;

    float width() const { return x1 - x0; }
    float height() const { return y1 - y0; }
    float area() const { return width() > 0 && height() > 0 ? width() * height() : 0.0f; }
};

// |A ∩ B| / |A ∪ B| of the axis-aligned boxes; 0 when both are empty.
float intersectionOverUnion(const Detection& a, const Detection& b);

// Greedy NMS: highest score first, drop every later box whose IoU with a kept one exceeds
// `iouThreshold`; keeps at most `maxKeep`. Ties keep their input order (deterministic).
std::vector<Detection> nonMaxSuppression(std::vector<Detection> boxes, float iouThreshold,
                                         size_t maxKeep);

}  // namespace prunelab::engine
