#!/usr/bin/env bash
# Rebuilds the model bundle models/fer2013-mien from scratch, with the commands and seeds it was
# made with (models/fer2013-mien/README.md). Nothing here is downloaded: the FER2013 faces come
# from the team's shared copy (never committed), the synthetic clips from `mien synth`.
#
#   ops/nn/make-fer2013-mien.sh MIEN FER2013_ARCHIVE OUT_BUNDLE [WORK]
#
# MIEN: the mien binary; FER2013_ARCHIVE: ../shared/data/fer2013/fer2013-train-validation.tar.gz
# (train/ and validation/ class folders of 48×48 JPEGs); OUT_BUNDLE: the bundle folder to write;
# WORK: scratch folder (default /tmp/fer2013-mien-work). On the 2-core machines the CNN takes
# ~80 minutes (20 epochs of 28 709 faces), the BiLSTM a few minutes.
set -euo pipefail
mien=$1 archive=$2 out=$3 work=${4:-/tmp/fer2013-mien-work}
mkdir -p "$work" "$out"

# 1. The CNN: vgg-24 from scratch on FER2013's training faces, selected on its validation faces.
if [[ ! -d $work/fer2013/train ]]; then
  mkdir -p "$work/fer2013" && tar xzf "$archive" -C "$work/fer2013"
fi
"$mien" train cnn --data "$work/fer2013" --architecture vgg-24 --input-size 48 --out "$out" \
  --checkpoint-dir "$work/cnn.checkpoints" --epochs 20 --batch-size 64 --lr 0.001 --weight-decay 0.02 \
  --lr-schedule cosine --warmup-epochs 1 --label-smoothing 0.1 --class-weights sqrt --select-on accuracy \
  --patience 20 --bn-recalibration 2048 --augment rotation,flip,zoom,shift,brightness,contrast,erasing --seed 1 \
  $( [[ -d $work/cnn.checkpoints ]] && echo --resume )

# 2. The BiLSTM: on this CNN's embeddings of synthetic clips (the same clips, split and settings
#    as models/fer2013's BiLSTM); no real labelled video is available to train it on.
if [[ ! -f $work/synth-train/labels.csv ]]; then
  "$mien" synth --out "$work/synth-train" --videos 70 --seed 101 --min-seconds 3 --max-seconds 6
fi
"$mien" extract "$work/synth-train" --labels "$work/synth-train/labels.csv" --frame-labels "$work/synth-train/frames.csv" \
  --cnn "$out" --out "$work/extract"
"$mien" train bilstm --cache "$work/extract/embeddings.jsonl" --out "$out/bilstm" --window 16 --stride 8 --units 64 \
  --dropout 0.2 --learning-rate 0.002 --seed 1

cat > "$out/bundle.json" <<'EOF'
{
  "name": "fer2013-mien",
  "cnn": ".",
  "bilstm": "bilstm",
  "trained_on": "CNN: vgg-24 trained from scratch by mien train cnn on FER2013's 28 709 real training photographs, selected on its 3 589 validation photographs; BiLSTM: trained on that CNN's embeddings of synthetic clips of `mien synth` only"
}
EOF
echo "make-fer2013-mien: bundle in $out"
