# The mailsim container image: a static build of cmd/mailsim on a
# distroless base, running as an unprivileged user, with /data as its
# working directory (mount a volume there for result sets).
#
#   docker build -t registry.example.net/mailsim:latest .
#   docker run --rm -v "$PWD/out:/data/out" registry.example.net/mailsim:latest run backend-count
#
# The build context includes .git, so that mailsim version (and every
# result set's manifest) names the revision the image was built from.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/mailsim ./cmd/mailsim \
 && /out/mailsim --version \
 && mkdir -p /data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/mailsim /usr/local/bin/mailsim
COPY --from=build --chown=65532:65532 /data /data
WORKDIR /data
ENTRYPOINT ["/usr/local/bin/mailsim"]
CMD ["help"]
