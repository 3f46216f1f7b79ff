# The action's image: static binaries on a minimal base with no shell and no libc.
#
# It runs as root on purpose: GitHub runs container actions as the image's
# user and mounts GITHUB_WORKSPACE and the file-command files (GITHUB_OUTPUT,
# GITHUB_STEP_SUMMARY) owned by the runner, and documents that container
# actions must not set USER or they cannot write there. The image holds
# nothing but the binaries, so root inside it has nothing to misuse.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/ ./cmd/action

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/action /usr/local/bin/deploy-action
ENTRYPOINT ["/usr/local/bin/deploy-action"]
