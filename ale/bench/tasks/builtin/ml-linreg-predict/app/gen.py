"""House-price style regression data (seeded). Imported by the tests to recover the hidden targets."""
import numpy as np

COLS = ["area_m2", "rooms", "age_years", "dist_km", "floor", "district"]


def make(seed=12345):
    rng = np.random.default_rng(seed)
    n = 1500
    area = rng.uniform(30, 200, n)
    rooms = np.clip(np.round(area / 30 + rng.normal(0, 0.7, n)), 1, 8)
    age = rng.uniform(0, 80, n)
    dist = rng.gamma(2.0, 3.0, n)
    floor = rng.integers(0, 12, n).astype(float)
    district = rng.choice(["north", "south", "east", "west"], n)
    effect = {"north": 40.0, "south": -25.0, "east": 10.0, "west": 0.0}
    price = (2.1 * area + 12 * rooms - 0.9 * age - 6.5 * dist + 1.5 * floor
             + np.array([effect[d] for d in district]) + 80 + rng.normal(0, 10, n))
    X = list(zip(area, rooms, age, dist, floor, district))
    return X, price, 1000  # first 1000 rows are training data


def write():
    X, y, n_train = make()
    with open("/app/data/train.csv", "w") as fh:
        fh.write(",".join(["id"] + COLS + ["price"]) + "\n")
        for i in range(n_train):
            a, r, g, d, f, s = X[i]
            fh.write(f"{i},{a:.3f},{int(r)},{g:.2f},{d:.3f},{int(f)},{s},{y[i]:.3f}\n")
    with open("/app/data/test.csv", "w") as fh:
        fh.write(",".join(["id"] + COLS) + "\n")
        for i in range(n_train, len(X)):
            a, r, g, d, f, s = X[i]
            fh.write(f"{i},{a:.3f},{int(r)},{g:.2f},{d:.3f},{int(f)},{s}\n")


if __name__ == "__main__":
    write()
