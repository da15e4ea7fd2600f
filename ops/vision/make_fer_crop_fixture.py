#!/usr/bin/env python3
"""Reference fer crops for MienVision's tests, computed the way the `fer` package does
(fer 25.10.3, fer/fer.py FER.detect_emotions / tosquare / __apply_offsets, summarised in
models/fer2013/README.md), with numpy slicing and OpenCV-Python — an implementation independent
of Mien's Swift one.

Usage: /usr/bin/python3 ops/vision/make_fer_crop_fixture.py
(needs Debian's python3-opencv and python3-numpy). Writes Tests/MienVisionTests/Fixtures/
fer_crop_<name>.png for each box below, from Fixtures/astronaut.jpg.
"""
import os

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "..", "Tests", "MienVisionTests", "Fixtures")
PADDING = 40
OFFSETS = (10, 10)

# (name, (x, y, w, h)): the Haar box of the face, a tall box near the bottom-right corner
# (squared, partly outside: exercises the border value and the unclamped high edges), and a
# wide box at the top-left (clamped low edges).
BOXES = [("astronaut", (177, 66, 95, 95)), ("corner", (470, 440, 50, 90)), ("topleft", (-5, 3, 70, 40))]


def tosquare(bbox):
    x, y, w, h = bbox
    if h > w:
        diff = h - w
        x -= diff // 2
        w += diff
    elif w > h:
        diff = w - h
        y -= diff // 2
        h += diff
    return (x, y, w, h)


def fer_crop(bgr, box):
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    rows = gray.shape[0]
    border = cv2.mean(gray[rows - 2:rows, :])[0]
    padded = cv2.copyMakeBorder(gray, PADDING, PADDING, PADDING, PADDING, cv2.BORDER_CONSTANT, value=border)
    x, y, w, h = tosquare(box)
    x_off, y_off = OFFSETS
    x1, x2, y1, y2 = x - x_off, x + w + x_off, y - y_off, y + h + y_off
    x1, x2, y1, y2 = x1 + PADDING, x2 + PADDING, y1 + PADDING, y2 + PADDING
    crop = padded[max(0, y1):y2, max(0, x1):x2]
    return cv2.resize(crop, (64, 64))


def main():
    bgr = cv2.imread(os.path.join(FIX, "astronaut.jpg"))
    for name, box in BOXES:
        crop = fer_crop(bgr, box)
        assert crop.shape == (64, 64) and crop.dtype == np.uint8
        cv2.imwrite(os.path.join(FIX, f"fer_crop_{name}.png"), crop)
        print(name, box, "->", crop.shape, "mean", float(crop.mean()))


if __name__ == "__main__":
    main()
