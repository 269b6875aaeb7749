# The release image: the one static binary that `build` produced, and nothing else.
#
# nox-cargo's docker stage fills this template: it stages the build's exact bytes (sha256-checked
# against dist/<target>/build-manifest.json) as `app` in an otherwise empty build context and
# passes the ARGs below. Build it by hand the same way:
#   docker build --build-arg VERSION=0.3.0 ... -t weft:0.3.0 <context holding app + this file>
FROM scratch

ARG TITLE=app
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG SOURCE=
ARG CREATED=1970-01-01T00:00:00Z
ARG LICENSES=

LABEL org.opencontainers.image.title="${TITLE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="${LICENSES}"

# Root-owned and read-only for the user that runs it; no shell, no libc, no /etc/passwd.
COPY app /app

# A numeric, non-root user: nothing in the image can resolve a name, and none is needed.
USER 65532:65532

ENTRYPOINT ["/app"]
