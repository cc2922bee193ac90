"""The installed environment has exactly one consistent OpenCV (three wheels write the same cv2/)."""

from importlib.metadata import PackageNotFoundError, version

import cv2


def test_one_consistent_opencv():
    versions = {}
    for dist in ("opencv-python", "opencv-python-headless", "opencv-contrib-python"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            continue
    assert versions, "no OpenCV distribution installed"
    assert len(set(versions.values())) == 1, f"OpenCV wheels disagree: {versions}"
    assert cv2.__version__ == next(iter(versions.values())).rsplit(".", 1)[0]
    assert hasattr(cv2, "ximgproc"), "contrib build expected (paddlex needs it)"
