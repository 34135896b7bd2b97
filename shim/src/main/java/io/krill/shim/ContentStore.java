package io.krill.shim;

import io.krill.oci.image.Descriptor;
import io.krill.oci.image.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;

/**
 * The questions {@link ContentStoreModules} asks containerd, kept apart from gRPC so its resolution
 * logic is tested against an in-memory store.
 */
interface ContentStore {
  /** The image the container was created from; empty when it was created without one. */
  Optional<String> containerImage(String containerId) throws IOException;

  /** The image's target: a manifest or an index. */
  Descriptor imageTarget(String imageName) throws IOException;

  /** The blob's bytes as stored, unverified: the caller checks them against the descriptor. */
  InputStream read(Digest digest) throws IOException;

  /**
   * Whether containerd still holds the blob (its garbage collector removes what no image
   * references).
   */
  boolean has(Digest digest) throws IOException;

  /**
   * containerd does not hold the object: after a pull of one platform of a multi-platform index,
   * the other platforms' manifests and layers are absent, and that deserves its own advice.
   */
  final class NotFound extends IOException {
    NotFound(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
