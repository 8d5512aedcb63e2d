"""Bringing outside material into the YouTube-8M record format: frame sampling and audio decoding
of video files (video.py), the dataset's Inception + PCA frame features (inception.py), VGGish-style
audio features (audio.py), one video's records (extract.py), MediaPipe's feature records
(mediapipe.py) and the dataset's own shards (download.py)."""
