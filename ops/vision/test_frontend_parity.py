#!/usr/bin/env python3
"""Checks ops/vision/frontend_parity.py: its exact McNemar p-values against scipy's binomial test
(values computed with scipy 1.x `binomtest(k, n).pvalue`, two-sided, p = 1/2), its sign-flip test
against an exactly enumerable case, the frame-folder order against `mien`'s naturalOrder, and
the paired counts and box figures it prints for two small hand-made `mien evaluate` outputs; and
make_canvas_frames.py fer's boxes.csv against where the photographs really are (needs OpenCV's
Python module: run with Debian's /usr/bin/python3, as the suite does).

usage: /usr/bin/python3 ops/vision/test_frontend_parity.py
"""
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import frontend_parity as fp  # noqa: E402


def write_eval(folder, records):
    os.makedirs(os.path.join(folder, "predictions"))
    with open(os.path.join(folder, "predictions", "frames.jsonl"), "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


def record(video, frame, box, label):
    probs = {c: 0.1 for c in ("angry", "happy", "neutral")}
    probs[label] = 0.8
    return {"video": video, "frame": frame, "box": box, "cnn_label": label, "cnn_probs": probs}


class FrontEndParityTests(unittest.TestCase):
    def test_mcnemar_matches_scipy_binomtest(self):
        # scipy.stats.binomtest(25, 43).pvalue etc.; tolerance 1e-12 (exact sums of binomials).
        for only_a, only_b, reference in ((25, 18, 0.3603776529357674), (107, 121, 0.3893136854661541), (0, 5, 0.0625)):
            self.assertAlmostEqual(fp.mcnemar_exact(only_a, only_b), reference, delta=1e-12)
            self.assertAlmostEqual(fp.mcnemar_exact(only_b, only_a), reference, delta=1e-12)
        self.assertEqual(fp.mcnemar_exact(0, 0), 1.0)

    def test_sign_flip_against_enumeration(self):
        # Three blocks all +1: of the 8 equally likely sign patterns, |sum| = 3 in 2 → p = 0.25.
        self.assertAlmostEqual(fp.sign_flip_p([1, 1, 1, 0]), 0.25, delta=0.01)
        # +2, −1: |sum| ≥ 1 for every pattern → p = 1.
        self.assertEqual(fp.sign_flip_p([2, -1]), 1.0)

    def test_natural_order_is_mien_frame_order(self):
        # FrameSource.swift's naturalOrder: numbers by value, "2" before "02", text case-insensitively.
        names = ["f10.png", "F1.png", "f02.png", "f2.png", "PublicTest_9.png", "PrivateTest_10.png"]
        self.assertEqual(sorted(names, key=fp.natural_key),
                         ["F1.png", "f2.png", "f02.png", "f10.png", "PrivateTest_10.png", "PublicTest_9.png"])

    def test_paired_counts_and_boxes(self):
        with tempfile.TemporaryDirectory() as tmp:
            a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
            # Video v (truth happy), frames 0-3. A right on 0, 1, 2; B right on 0 and 3; frame 4
            # has a face only in A (not paired). B's boxes: the same size, moved right by 10 %.
            write_eval(a, [record("v", 0, [0, 0, 100, 100], "happy"), record("v", 1, [0, 0, 100, 100], "happy"),
                           record("v", 2, [0, 0, 100, 100], "happy"), record("v", 3, [0, 0, 100, 100], "angry"),
                           record("v", 4, [0, 0, 100, 100], "happy")])
            write_eval(b, [record("v", 0, [10, 0, 100, 100], "happy"), record("v", 1, [10, 0, 100, 100], "angry"),
                           record("v", 2, [10, 0, 100, 100], "neutral"), record("v", 3, [10, 0, 100, 100], "happy")])
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                fp.compare(fp.read_faces(a), fp.read_faces(b), {"v": "happy"}, block=2)
            text = out.getvalue()
            self.assertIn("frames with one face in both: 4", text)
            self.assertIn("CNN accuracy: A 75.00 %, B 50.00 %; right only with A 2, only with B 1", text)
            self.assertIn(f"exact McNemar p = {fp.mcnemar_exact(2, 1):.3f}", text)
            self.assertIn("same label 25.0 %", text)
            # IoU of two 100-px squares 10 px apart: 9000 / 11000.
            self.assertIn(f"IoU median {9000 / 11000:.3f}", text)
            self.assertIn("x median 0.100", text)
            # Blocks of 2: frames 0-1 (A 2, B 1: +1) and 2-3 (A 1, B 1: 0).
            self.assertIn("blocks of 2 frames: 2, counts differ in 1 (A more right 1, B 0, sum +1)", text)

    def test_missing_output_names_the_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            err = io.StringIO()
            with self.assertRaises(SystemExit) as e, contextlib.redirect_stderr(err):
                fp.read_faces(os.path.join(tmp, "nothing"))
            self.assertIn("frames.jsonl", str(e.exception.code))
            self.assertIn("mien evaluate", str(e.exception.code))


class CanvasTruthTests(unittest.TestCase):
    def test_fer_boxes_locate_each_photograph(self):
        """make_canvas_frames.py fer's boxes.csv: the square where each photograph was pasted."""
        try:
            import cv2
            import numpy as np
        except ImportError:
            self.skipTest("needs OpenCV's Python module (Debian's python3-opencv; run with /usr/bin/python3)")
        with tempfile.TemporaryDirectory() as tmp:
            split, out = os.path.join(tmp, "split"), os.path.join(tmp, "out")
            rng = np.random.default_rng(3)
            for label in ("happy", "sad"):
                os.makedirs(os.path.join(split, label))
                for i in (1, 2, 10):
                    photo = cv2.GaussianBlur(rng.integers(0, 256, (48, 48)).astype(np.uint8), (5, 5), 0)
                    cv2.imwrite(os.path.join(split, label, f"p{i}.png"), photo)
            script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "make_canvas_frames.py")
            subprocess.run([sys.executable, script, "fer", split, out, "--video"], check=True, capture_output=True)
            rows = open(os.path.join(out, "boxes.csv")).read().split()
            self.assertEqual(rows[0], "video,file,x,y,side")
            self.assertEqual(len(rows), 7)
            for row in rows[1:]:
                label, name, x, y, side = row.split(",")
                x, y, side = int(x), int(y), int(side)
                self.assertTrue(96 <= side <= 144)
                canvas = cv2.imread(os.path.join(out, label, name), cv2.IMREAD_GRAYSCALE)
                photo = cv2.imread(os.path.join(split, label, name), cv2.IMREAD_GRAYSCALE)
                # The feathering only touches the outer 8 %: the inner 80 % is the enlarged photograph.
                m = side // 10
                pasted = canvas[y + m:y + side - m, x + m:x + side - m].astype(int)
                expected = cv2.resize(photo, (side, side), interpolation=cv2.INTER_CUBIC)[m:side - m, m:side - m].astype(int)
                self.assertLessEqual(np.abs(pasted - expected).max(), 1, f"{label}/{name}: boxes.csv's square does not hold the photograph")

            # --video: each class's canvases as the frames of one clip, boxes.csv by frame number.
            video = os.path.join(out, "video")
            self.assertEqual(open(os.path.join(video, "labels.csv")).read().split(), ["video,label", "happy.mp4,happy", "sad.mp4,sad"])
            rows = open(os.path.join(video, "boxes.csv")).read().split()
            self.assertEqual(rows[0], "video,file,x,y,side,photo")
            self.assertEqual(len(rows), 7)
            frames = {}
            for clip in ("happy.mp4", "sad.mp4"):
                capture = cv2.VideoCapture(os.path.join(video, clip))
                frames[clip] = []
                while True:
                    ok, frame = capture.read()
                    if not ok:
                        break
                    frames[clip].append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(int))
                self.assertEqual(len(frames[clip]), 3, clip)
            for row in rows[1:]:
                clip, number, x, y, side, png = row.split(",")
                canvas = cv2.imread(os.path.join(out, clip[:-4], png), cv2.IMREAD_GRAYSCALE).astype(int)
                # Lossless H.264 in limited-range YUV: within a few grey levels of the canvas.
                self.assertLessEqual(np.abs(frames[clip][int(number)] - canvas).max(), 3, f"{clip} frame {number} is not {png}")


if __name__ == "__main__":
    unittest.main()
