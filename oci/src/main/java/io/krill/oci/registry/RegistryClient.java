package io.krill.oci.registry;

import io.krill.oci.image.Descriptor;
import io.krill.oci.image.Digest;
import io.krill.oci.image.ImageReference;
import io.krill.oci.image.Manifest;
import io.krill.oci.image.MediaTypes;
import io.krill.oci.image.VerifyingInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Optional;

/**
 * The distribution API for one repository: blobs (existence, upload, download) and manifests. Blobs
 * are streamed both ways; a download is verified against its descriptor as it is read.
 *
 * <p>HTTPS is the default. Plain HTTP is used only when asked for, or for a loopback registry,
 * which is what a local test registry is.
 */
public final class RegistryClient {
  /** Uploads at or below this size go in one PUT; larger ones in PATCH chunks of this size. */
  public static final int DEFAULT_CHUNK = 16 << 20;

  private static final String MANIFEST_ACCEPT =
      String.join(
          ", ",
          MediaTypes.OCI_MANIFEST,
          MediaTypes.OCI_INDEX,
          MediaTypes.DOCKER_MANIFEST,
          MediaTypes.DOCKER_MANIFEST_LIST);

  private final URI base;
  private final ImageReference ref;
  private final RegistryTransport transport;

  private RegistryClient(ImageReference ref, Credentials credentials, boolean plainHttp) {
    this.ref = ref;
    String scheme = plainHttp || ref.isLoopback() ? "http" : "https";
    this.base = URI.create(scheme + "://" + ref.apiHost() + "/v2/" + ref.repository() + "/");
    this.transport = new RegistryTransport(ref.repository(), credentials);
  }

  /** {@code credentials} may be null (anonymous). */
  public static RegistryClient of(ImageReference ref, Credentials credentials, boolean plainHttp) {
    return new RegistryClient(ref, credentials, plainHttp);
  }

  public ImageReference reference() {
    return ref;
  }

  public boolean blobExists(Descriptor d) {
    String what = "HEAD blob " + d.digest() + " in " + ref.repository();
    HttpResponse<Void> r =
        transport.send(
            () ->
                HttpRequest.newBuilder(base.resolve("blobs/" + d.digest()))
                    .method("HEAD", HttpRequest.BodyPublishers.noBody()),
            HttpResponse.BodyHandlers.discarding(),
            what);
    if (r.statusCode() == 200) {
      return true;
    }
    if (r.statusCode() == 404) {
      return false;
    }
    throw transport.error(r, what);
  }

  /** A source of the blob's bytes that can be opened more than once (an auth retry re-reads it). */
  @FunctionalInterface
  public interface BlobSource {
    InputStream open() throws IOException;
  }

  /** Uploads a blob unless the registry has it; returns whether it was uploaded. */
  public boolean pushBlob(Descriptor d, BlobSource source, int chunkSize) {
    if (blobExists(d)) {
      return false;
    }
    URI location = startUpload(d);
    if (d.size() <= chunkSize) {
      finishUpload(
          d,
          location,
          HttpRequest.BodyPublishers.fromPublisher(
              HttpRequest.BodyPublishers.ofInputStream(() -> open(source)), d.size()),
          d.size());
    } else {
      try (InputStream in = source.open()) {
        long offset = 0;
        while (offset < d.size()) {
          byte[] chunk = in.readNBytes((int) Math.min(chunkSize, d.size() - offset));
          if (chunk.length == 0) {
            throw new RegistryException(
                0,
                "blob " + d.digest() + " source ended at " + offset + " of " + d.size() + " bytes");
          }
          location = patch(d, location, chunk, offset);
          offset += chunk.length;
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read blob " + d.digest(), e);
      }
      finishUpload(d, location, HttpRequest.BodyPublishers.noBody(), 0);
    }
    return true;
  }

  private static InputStream open(BlobSource s) {
    try {
      return s.open();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private URI startUpload(Descriptor d) {
    String what = "start upload of " + d.digest() + " to " + ref.repository();
    HttpResponse<InputStream> r =
        transport.send(
            () ->
                HttpRequest.newBuilder(base.resolve("blobs/uploads/"))
                    .POST(HttpRequest.BodyPublishers.noBody()),
            HttpResponse.BodyHandlers.ofInputStream(),
            what);
    if (r.statusCode() != 202) {
      throw transport.error(r, what);
    }
    RegistryTransport.discard(r);
    return location(r, what);
  }

  private URI patch(Descriptor d, URI location, byte[] chunk, long offset) {
    String what = "upload chunk at " + offset + " of " + d.digest();
    HttpResponse<InputStream> r =
        transport.send(
            () ->
                HttpRequest.newBuilder(location)
                    .header("Content-Type", "application/octet-stream")
                    .header("Content-Range", offset + "-" + (offset + chunk.length - 1))
                    .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(chunk)),
            HttpResponse.BodyHandlers.ofInputStream(),
            what);
    if (r.statusCode() != 202) {
      throw transport.error(r, what);
    }
    RegistryTransport.discard(r);
    return location(r, what);
  }

  private void finishUpload(
      Descriptor d, URI location, HttpRequest.BodyPublisher body, long length) {
    String what = "upload blob " + d.digest() + " to " + ref.repository();
    String sep = location.getRawQuery() == null ? "?" : "&";
    URI put = URI.create(location + sep + "digest=" + d.digest());
    HttpResponse<InputStream> r =
        transport.send(
            () ->
                HttpRequest.newBuilder(put)
                    .header("Content-Type", "application/octet-stream")
                    .PUT(body),
            HttpResponse.BodyHandlers.ofInputStream(),
            what);
    if (r.statusCode() != 201) {
      throw transport.error(r, what);
    }
    RegistryTransport.discard(r);
  }

  private URI location(HttpResponse<?> r, String what) {
    String loc =
        r.headers()
            .firstValue("Location")
            .orElseThrow(
                () ->
                    new RegistryException(
                        r.statusCode(), what + ": the registry sent no upload Location"));
    return r.uri().resolve(loc);
  }

  /** Puts a manifest (or index) under a tag or digest; returns its digest. */
  public Digest putManifest(String reference, String mediaType, byte[] bytes) {
    String what = "put manifest " + ref.repository() + ":" + reference;
    HttpResponse<InputStream> r =
        transport.send(
            () ->
                HttpRequest.newBuilder(base.resolve("manifests/" + reference))
                    .header("Content-Type", mediaType)
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)),
            HttpResponse.BodyHandlers.ofInputStream(),
            what);
    if (r.statusCode() != 201) {
      throw transport.error(r, what);
    }
    RegistryTransport.discard(r);
    return Digest.sha256(bytes);
  }

  /** A manifest or index as the registry sent it, with its verified digest. */
  public record FetchedManifest(String mediaType, Digest digest, byte[] bytes) {}

  public FetchedManifest getManifest(String reference) {
    String what = "get manifest " + ref.repository() + ":" + reference;
    HttpResponse<InputStream> r =
        transport.send(
            () ->
                HttpRequest.newBuilder(base.resolve("manifests/" + reference))
                    .header("Accept", MANIFEST_ACCEPT)
                    .GET(),
            HttpResponse.BodyHandlers.ofInputStream(),
            what);
    if (r.statusCode() != 200) {
      throw transport.error(r, what);
    }
    byte[] bytes;
    try (InputStream in = r.body()) {
      bytes = in.readNBytes(Manifest.MAX_BYTES + 1);
    } catch (IOException e) {
      throw new RegistryException(what + ": " + e.getMessage(), e);
    }
    if (bytes.length > Manifest.MAX_BYTES) {
      throw new RegistryException(
          200, what + ": manifest is larger than the " + Manifest.MAX_BYTES + "-byte limit");
    }
    Digest actual = Digest.sha256(bytes);
    Optional<Digest> claimed =
        reference.contains(":")
            ? Optional.of(Digest.parse(reference))
            : r.headers().firstValue("Docker-Content-Digest").map(h -> headerDigest(h, what));
    if (claimed.isPresent()
        && claimed.get().algorithm().equals("sha256")
        && !claimed.get().equals(actual)) {
      throw new RegistryException(
          200, what + ": manifest digest mismatch: expected " + claimed.get() + ", got " + actual);
    }
    String mt =
        r.headers()
            .firstValue("Content-Type")
            .orElse(MediaTypes.OCI_MANIFEST)
            .replaceFirst(";.*", "");
    return new FetchedManifest(mt, actual, bytes);
  }

  private static Digest headerDigest(String header, String what) {
    try {
      return Digest.parse(header);
    } catch (IllegalArgumentException e) {
      throw new RegistryException(
          200,
          what
              + ": the registry sent an invalid Docker-Content-Digest header \""
              + header
              + "\": "
              + e.getMessage(),
          e);
    }
  }

  /** The blob's bytes, verified against {@code d} while they are read. */
  public InputStream getBlob(Descriptor d) {
    String what = "get blob " + d.digest() + " from " + ref.repository();
    HttpResponse<InputStream> r =
        transport.send(
            () -> HttpRequest.newBuilder(base.resolve("blobs/" + d.digest())).GET(),
            HttpResponse.BodyHandlers.ofInputStream(),
            what);
    for (int hops = 0; r.statusCode() / 100 == 3 && hops < 5; hops++) {
      URI next = location(r, what);
      RegistryTransport.discard(r);
      r = transport.getUnauthenticated(next, what);
    }
    if (r.statusCode() != 200) {
      throw transport.error(r, what);
    }
    return new VerifyingInputStream(r.body(), d);
  }
}
