"""The benchmark's floor: FastAPI validating /predict's body and returning a constant.

Its throughput is what HTTP, uvicorn, FastAPI and request validation cost on
their own; no model server on the same stack can beat it. Run by
``bench_serve.py`` as ``python benchmarks/floor_app.py PORT``.
"""

import sys

import uvicorn
from fastapi import FastAPI

from tmdb_mlops.inputs import MovieFeatures

app = FastAPI()


@app.post("/predict")
async def predict(movie: MovieFeatures) -> dict[str, float]:
    return {"prediction": 5.0}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools",
                access_log=False, log_level="warning")
