# syntax=docker/dockerfile:1
# Atelier in one image: the UI built with node, served with the API from a CUDA runtime base.
#
#   docker compose up -d        (docker-compose.yml reserves the GPU and the volumes; DEPLOYMENT.md)
#
# torch 2.13.0 from PyPI is a CUDA 13.0 build that brings its own CUDA libraries; the base image
# matches it. CUDA 13 needs an NVIDIA driver >= 580 on the host.
ARG CUDA_IMAGE=nvidia/cuda:13.0.2-runtime-ubuntu24.04

# ---------------------------------------------------------------------------- 1. the UI
FROM node:20-bookworm-slim AS ui
WORKDIR /src
# Dependencies first: this layer is reused until package.json or the lockfile change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# `npm run build` type-checks (tsc -b) before bundling; tests under src/ import scripts/gen-api.mjs.
COPY index.html vite.config.ts tsconfig.json tsconfig.app.json tsconfig.node.json ./
COPY public ./public
COPY scripts ./scripts
COPY src ./src
RUN npm run build

# ---------------------------------------------------------------------------- 2. the runtime
FROM ${CUDA_IMAGE} AS runtime
ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# The pinned requirements, every transitive version fixed by constraints.txt (`make lock`).
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH
COPY backend/requirements.txt backend/constraints.txt /tmp/requirements/
RUN python3 -m venv /opt/venv \
 && pip install -r /tmp/requirements/requirements.txt -c /tmp/requirements/constraints.txt \
 && rm -rf /tmp/requirements

# A non-root user. UID 1000 by default (the first user on most Linux hosts), so bind-mounted
# folders stay readable and writable from both sides; Ubuntu's own uid-1000 user is removed.
ARG APP_UID=1000
RUN (userdel -r ubuntu 2>/dev/null || true) \
 && useradd --create-home --uid "${APP_UID}" --user-group atelier \
 && mkdir -p /models /data /hf \
 && chown atelier:atelier /models /data /hf

WORKDIR /app
COPY backend/atelier /app/backend/atelier
COPY --from=ui /src/dist /app/dist

# Inside the container Atelier listens on every interface; docker-compose.yml decides what the
# host publishes. Models, the Hugging Face cache and data live on volumes.
ENV PYTHONPATH=/app/backend \
    ATELIER_HOST=0.0.0.0 \
    ATELIER_PORT=8080 \
    ATELIER_UI_DIR=/app/dist \
    ATELIER_MODELS_DIR=/models \
    ATELIER_DATA_DIR=/data \
    HF_HOME=/hf
VOLUME ["/models", "/data", "/hf"]

USER atelier
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "atelier.healthcheck"]
CMD ["python", "-m", "atelier"]
