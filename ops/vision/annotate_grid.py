#!/usr/bin/env python3
"""Writes zoomed crops of an image with a labelled pixel grid, for hand-annotating the
reference face boxes and eye centres in Tests/MienVisionTests/Fixtures/reference_faces.json.

Usage: /usr/bin/python3 ops/vision/annotate_grid.py IMAGE X0 Y0 X1 Y1 SCALE STEP OUT.png
(needs Debian's python3-opencv). Grid lines every STEP px of the original image, labelled
every 50 px; view OUT.png and read coordinates off the grid.
"""
import sys

import cv2


def main() -> None:
    if len(sys.argv) != 9:
        sys.exit(__doc__)
    path, x0, y0, x1, y1, scale, step, out = sys.argv[1:]
    x0, y0, x1, y1, step = map(int, (x0, y0, x1, y1, step))
    scale = float(scale)
    im = cv2.imread(path)
    if im is None:
        sys.exit(f"{path}: cannot read image")
    im = cv2.resize(im[y0:y1, x0:x1].copy(), None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    for x in range((x0 // step) * step, x1, step):
        X = int((x - x0) * scale)
        cv2.line(im, (X, 0), (X, im.shape[0]), (0, 255, 255) if x % 50 == 0 else (120, 120, 120), 1)
        if x % 50 == 0:
            cv2.putText(im, str(x), (X + 2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1)
    for y in range((y0 // step) * step, y1, step):
        Y = int((y - y0) * scale)
        cv2.line(im, (0, Y), (im.shape[1], Y), (0, 255, 255) if y % 50 == 0 else (120, 120, 120), 1)
        if y % 50 == 0:
            cv2.putText(im, str(y), (2, Y - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1)
    cv2.imwrite(out, im)


if __name__ == "__main__":
    main()
