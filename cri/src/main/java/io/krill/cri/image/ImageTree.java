package io.krill.cri.image;

import io.krill.cri.io.FileTrees;
import io.krill.oci.image.Descriptor;
import io.krill.oci.image.ImageReference;
import io.krill.oci.image.Manifest;
import io.krill.oci.layout.OciLayout;
import io.krill.oci.layout.SafeUnpacker;
import io.krill.runtime.ErrorCode;
import io.krill.runtime.KrillException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * A tar-layer image's unpacked tree: its layers, in order, through krill's safe unpacker into a
 * temporary directory unique to the pull, renamed into place when all of them are in. So a tree is
 * whole or absent, two pulls of one image race harmlessly (the first rename wins), and all layers
 * together are held to the image size limit. Every refusal names the image and the layer.
 */
final class ImageTree {
  private static final int MAX_ENTRIES = 1_000_000;

  private ImageTree() {}

  /**
   * Unpacks {@code m}'s layers (blobs in {@code layout}) at {@code target}, unless a tree is
   * already there.
   */
  static void unpack(
      OciLayout layout, ImageReference ref, Manifest m, Path target, long maxImageBytes)
      throws IOException {
    if (Files.isDirectory(target)) {
      return;
    }
    Path tmp = Files.createTempDirectory(Files.createDirectories(target.getParent()), ".tmp-");
    try {
      unpackLayers(layout, ref, m, tmp, maxImageBytes);
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileSystemException lost) {
        // rename(2) onto the winner's tree fails with ENOTEMPTY, which the JDK reports as a plain
        // FileSystemException ("Directory not empty"), not DirectoryNotEmptyException.
        if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
          throw lost;
        }
        FileTrees.deleteTree(tmp);
      }
    } catch (IOException | RuntimeException e) {
      FileTrees.deleteTree(tmp);
      throw e;
    }
  }

  private static void unpackLayers(
      OciLayout layout, ImageReference ref, Manifest m, Path tmp, long maxImageBytes)
      throws IOException {
    SafeUnpacker unpacker = new SafeUnpacker(SafeUnpacker.Limits.of(maxImageBytes, MAX_ENTRIES));
    long written = 0;
    for (Descriptor layer : m.layers()) {
      try (InputStream in = layout.openBlob(layer)) {
        written = unpacker.unpack(in, tmp, written);
      } catch (SafeUnpacker.LimitExceededException e) {
        throw tooLarge(ref, "layer " + layer.digest() + ": " + e.getMessage(), maxImageBytes);
      } catch (SafeUnpacker.MalformedArchiveException e) {
        throw new KrillException(
            ErrorCode.INVALID_ARGUMENT,
            "pull "
                + ref
                + ": layer "
                + layer.digest()
                + " ("
                + layer.mediaType()
                + ") is "
                + e.getMessage()
                + "; the image is broken: rebuild it and push it again",
            e);
      } catch (SafeUnpacker.UnsafeArchiveException e) {
        throw new KrillException(
            ErrorCode.INVALID_ARGUMENT,
            "pull "
                + ref
                + ": refused layer "
                + layer.digest()
                + ": "
                + e.getMessage()
                + "; krill unpacks no such entry: rebuild the image without it",
            e);
      } catch (IOException e) {
        throw new IOException("layer " + layer.digest() + ": " + e.getMessage(), e);
      }
    }
  }

  static KrillException tooLarge(ImageReference ref, String what, long maxImageBytes) {
    return new KrillException(
        ErrorCode.RESOURCE_EXHAUSTED,
        "pull "
            + ref
            + ": "
            + what
            + "; krill cri allows "
            + maxImageBytes
            + " bytes per image (--image-size-limit): use a smaller image or raise the limit");
  }
}
