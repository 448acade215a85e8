import numpy as np

def within(keys: np.ndarray, z: np.ndarray, order: np.ndarray, x: float, y: float,
           radius: float, cell: float) -> tuple[list[int], list[float]]: ...
