# Doorstep's server image: build with cgo (h3-go is C), run as a non-root
# user on a minimal glibc base. See "Containers" in README.md.
#
#   docker build -t doorstep .          (or: podman build -t doorstep .)
#
# The base images are arguments so that a mirror or a pinned digest can be
# given: --build-arg GO_IMAGE=... --build-arg RUN_IMAGE=...
ARG GO_IMAGE=docker.io/library/golang:1.26-bookworm
ARG RUN_IMAGE=gcr.io/distroless/base-debian12:nonroot

FROM ${GO_IMAGE} AS build
WORKDIR /src
# Modules first: a change of code alone reuses this layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# cgo for h3-go; -trimpath and no symbol tables keep the binary small.
RUN CGO_ENABLED=1 go build -trimpath -ldflags='-s -w' -o /out/doorstep ./cmd/doorstep

# The binary needs glibc (cgo) and nothing else: no shell, no package manager.
FROM ${RUN_IMAGE}
COPY --from=build /out/doorstep /usr/local/bin/doorstep
# distroless' "nonroot" user, by number so that any base image runs it.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/doorstep"]
# Listening beyond loopback needs API keys (DOORSTEP_API_KEYS), and keys need
# a Redis (REDIS_URL): see compose.yaml.
CMD ["serve", "-addr", "0.0.0.0:8080"]
