# A plain mirror of scripts/install-deps.sh and scripts/build.sh (no Docker engine runs on the
# project's machines; keep this file in step with those scripts).
FROM debian:12 AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh
COPY . .
RUN cmake -S . -B build -G Ninja -DKOREHOOK_TESTS=OFF -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build --parallel

FROM debian:12-slim
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libssl3 libsqlite3-0 libspdlog1.10 \
      libyaml-cpp0.7 libsystemd0 libmimalloc2.0 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/korehookd /src/build/korehook /usr/local/bin/
COPY config/korehook.example.yaml /etc/korehook/korehook.yaml
WORKDIR /var/lib/korehook
# The example config reads the secrets key from ./var/secrets.key: mount it there (64 hex
# characters, `openssl rand -hex 32`), e.g. -v /etc/korehook/secrets.key:/var/lib/korehook/var/secrets.key:ro
VOLUME ["/var/lib/korehook", "/run/korehook"]
ENTRYPOINT ["/usr/local/bin/korehookd", "--config", "/etc/korehook/korehook.yaml"]
