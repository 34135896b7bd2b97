package io.krill.cri.container;

import io.krill.cri.pod.PodFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Stream;

/**
 * A container's own {@code /etc}: WASI preview 1 preopens directories, never single files, so
 * containerd's three file binds ({@link PodFiles}) cannot be reproduced. The container gets a
 * directory instead, preopened read-only: the image's {@code /etc} (hard links, so nothing is
 * copied) with the pod's three files over it, each replaced by the container's own file mount at
 * that path when kubelet gives one (its managed {@code /etc/hosts}), copied when the container is
 * created. A directory mount at {@code /etc} wins over all.
 */
final class ContainerEtc {
  private ContainerEtc() {}

  /**
   * Builds a container's {@code /etc} at {@code target}; false when the container gets none: a
   * directory mount covers {@code /etc}, or the pod has no files (made by an older krill).
   */
  static boolean build(
      Path podDir, Path target, Path imageRoot, List<CriContainer.MountSpec> mounts)
      throws IOException {
    if (!Files.isDirectory(podDir)
        || mounts.stream().anyMatch(m -> clean(m.containerPath()).equals("/etc"))) {
      return false;
    }
    Files.createDirectories(target);
    Path imageEtc = imageRoot.resolve("etc");
    if (Files.isDirectory(imageEtc, LinkOption.NOFOLLOW_LINKS)) {
      linkTree(imageEtc, target);
    }
    for (String name : PodFiles.NAMES) {
      Path source =
          mounts.stream()
              .filter(m -> clean(m.containerPath()).equals("/etc/" + name))
              .map(m -> Path.of(m.hostPath()))
              .filter(Files::isRegularFile)
              .reduce((a, b) -> b)
              .orElse(podDir.resolve(name));
      Path dest = target.resolve(name);
      // Never write through a hard link into the shared image tree.
      Files.deleteIfExists(dest);
      if (Files.isRegularFile(source)) {
        Files.copy(source, dest);
      }
    }
    return true;
  }

  private static void linkTree(Path from, Path to) throws IOException {
    try (Stream<Path> all = Files.walk(from)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Path dest = to.resolve(from.relativize(p).toString());
        if (Files.isSymbolicLink(p)) {
          Files.createSymbolicLink(dest, Files.readSymbolicLink(p));
        } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          Files.createDirectories(dest);
        } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          try {
            Files.createLink(dest, p);
          } catch (IOException | UnsupportedOperationException e) {
            // another file system than the image store's
            Files.copy(p, dest, StandardCopyOption.COPY_ATTRIBUTES);
          }
        }
      }
    }
  }

  private static String clean(String containerPath) {
    return Path.of("/").resolve(containerPath).normalize().toString();
  }
}
