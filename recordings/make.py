"""Regenerate the sample recordings in this folder (run: python recordings/make.py)."""

from pathlib import Path

from imurehab.sample_recordings import write_sample_recordings

if __name__ == "__main__":
    for path in write_sample_recordings(Path(__file__).parent):
        print(path)
