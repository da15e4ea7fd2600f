#!/usr/bin/env python3
"""The gray reference of MienVision's decoding tests, made by the path Mien decoded video with
before it read FFmpeg directly: OpenCV 4.6's cv2.VideoCapture(path, CAP_FFMPEG) (every frame
converted to BGR by swscale) then cv2.cvtColor(BGR2GRAY) — an implementation independent of
Sources/CMienVision/video.cpp.

Usage: /usr/bin/python3 ops/vision/make_decode_fixture.py [MIEN_BINARY]
(needs Debian's python3-opencv and python3-numpy, and a built mien, default
.build/release/mien). Writes to Tests/MienVisionTests/Fixtures/:
  decode_synth.mp4             0.5 s (13 frames) of a 160x128 synthetic face clip, H.264 yuv420p
                               limited range (`mien synth --seed 7`, the writer's single-threaded
                               x264: the same bytes on the same FFmpeg/x264 build)
  decode_synth_opencv_gray.png its 13 gray frames from OpenCV, stacked top to bottom (160x1664)
"""
import os
import shutil
import subprocess
import sys
import tempfile

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "..", "Tests", "MienVisionTests", "Fixtures")


def main():
    mien = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", ".build", "release", "mien")
    work = tempfile.mkdtemp()
    try:
        subprocess.run([mien, "synth", "--out", work, "--videos", "1", "--seed", "7", "--min-seconds", "0.5",
                        "--max-seconds", "0.5", "--width", "160", "--height", "128", "--max-faces", "1", "--codec", "avc1"],
                       check=True, stdout=subprocess.DEVNULL)
        clip = os.path.join(FIX, "decode_synth.mp4")
        shutil.copyfile(os.path.join(work, "clip_00000.mp4"), clip)
    finally:
        shutil.rmtree(work)
    cap = cv2.VideoCapture(clip, cv2.CAP_FFMPEG)
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    if not frames:
        sys.exit(f"OpenCV decoded no frame of {clip}")
    cv2.imwrite(os.path.join(FIX, "decode_synth_opencv_gray.png"), np.vstack(frames))
    print(f"{len(frames)} frames of {frames[0].shape[1]}x{frames[0].shape[0]} from {clip}")


if __name__ == "__main__":
    main()
