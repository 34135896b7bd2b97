package io.krill.runtime;

import java.util.Optional;

/**
 * The module of a container whose image carries it as a layer rather than as a file: containerd
 * skips non-tar layers when it unpacks an image, so such a container's rootfs is empty. Consulted
 * only when the rootfs has no module; the daemon answers from containerd's content store, tests
 * with fakes.
 */
@FunctionalInterface
public interface ImageModules {
  /** For daemons (and tests) that run rootfs modules only. */
  ImageModules NONE = containerId -> Optional.empty();

  /**
   * The wasm layer of the image the container was created from; empty when that image has no wasm
   * layer (or the container has no image), so the caller reports the missing rootfs module instead.
   *
   * @throws KrillException naming the container when the image has wasm layers krill cannot run
   */
  Optional<ImageModule> find(String containerId);

  /**
   * @param image the image's name, argv[0] when the container has no command
   * @param layer how to name the layer in messages, e.g. its digest
   */
  record ImageModule(String image, String layer, byte[] bytes) {
    public ImageModule {
      if (image == null || layer == null || bytes == null) {
        throw new IllegalArgumentException(
            "an image module needs an image name, a layer and its bytes");
      }
    }
  }
}
