# Static binaries on a minimal base with no shell and no libc.
#
#   docker build .                     the action's image: deploy-action alone, which runs
#                                      every command (command: bootstrap in-process)
#   docker build --target hook .       the deploy hook alone, as a non-root server
#
# Each image holds one binary: each static binary carries its own copy of
# the AWS SDK (about 19 MB), and the action runs the bootstrap itself. The
# bootstrap command ships as a release binary for terminals.
#
# The action's image runs as root on purpose: GitHub runs container actions
# as the image's user and mounts GITHUB_WORKSPACE and the file-command files
# (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) owned by the runner, and documents that
# container actions must not set USER or they cannot write there. The image
# holds nothing but the binaries, so root inside it has nothing to misuse.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/ ./cmd/action ./cmd/deploy-hook

FROM gcr.io/distroless/static-debian12:nonroot AS hook
COPY --from=build /out/deploy-hook /usr/local/bin/deploy-hook
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/deploy-hook", "-addr", "0.0.0.0:8080"]

FROM gcr.io/distroless/static-debian12 AS action
COPY --from=build /out/action /usr/local/bin/deploy-action
ENTRYPOINT ["/usr/local/bin/deploy-action"]
