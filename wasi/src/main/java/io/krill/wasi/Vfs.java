package io.krill.wasi;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;

/**
 * The guest's filesystem: {@link Mount}s composed by guest path, the deepest mount covering a path
 * serving it. Paths are resolved one component at a time, relative to a directory descriptor that
 * is the limit: {@code ..} above it, an absolute path or an absolute symlink is refused with {@link
 * Errno#PERM} (what Wasmtime answers), so nothing resolves outside the tree the guest was given.
 */
final class Vfs {
  static final int MAX_SYMLINKS = 32;

  /**
   * Where a guest path lives: its mount and the host path. A virtual directory is a path the tree
   * does not hold but a mount lies below (a file mount at /etc/resolv.conf in an image without
   * /etc): it exists to reach that mount, as the mount point runc would have made.
   */
  record Located(Mount mount, Path host, boolean mountRoot, boolean virtual, List<String> rest) {}

  /**
   * A resolved path: {@code attrs} are those of the final component (not followed if it is a
   * symlink that was not to be followed), null when nothing is there.
   */
  record Resolved(
      List<String> vpath, Located at, BasicFileAttributes attrs, boolean trailingSlash) {
    boolean exists() {
      return attrs != null;
    }

    String name() {
      return vpath.isEmpty() ? "/" : vpath.get(vpath.size() - 1);
    }
  }

  private record Entry(List<String> components, Mount mount) {}

  private final List<Entry> mounts = new ArrayList<>();

  Vfs(List<Mount> list) {
    for (Mount m : list) {
      mounts.add(new Entry(split(m.guestPath()), m));
    }
    // Deepest first, so the first prefix found is the longest; a later mount of a path wins.
    List<Entry> ordered = new ArrayList<>(mounts);
    mounts.clear();
    for (int i = ordered.size() - 1; i >= 0; i--) {
      mounts.add(ordered.get(i));
    }
    mounts.sort(Comparator.comparingInt((Entry e) -> e.components.size()).reversed());
  }

  static List<String> split(String path) {
    List<String> out = new ArrayList<>();
    for (String c : path.split("/")) {
      if (!c.isEmpty() && !c.equals(".")) {
        out.add(c);
      }
    }
    return out;
  }

  static String join(List<String> vpath) {
    return "/" + String.join("/", vpath);
  }

  /** The mount serving a guest path and its host path; null when no mount covers it. */
  Located locate(List<String> vpath) {
    for (Entry e : mounts) {
      if (e.components.size() <= vpath.size()
          && vpath.subList(0, e.components.size()).equals(e.components)) {
        Path host = e.mount.hostPath();
        for (String c : vpath.subList(e.components.size(), vpath.size())) {
          host = host.resolve(c);
        }
        boolean root = e.components.size() == vpath.size();
        boolean virtual =
            !root && hasMountBelow(vpath) && !Files.exists(host, LinkOption.NOFOLLOW_LINKS);
        return new Located(
            e.mount,
            host,
            root,
            virtual,
            List.copyOf(vpath.subList(e.components.size(), vpath.size())));
      }
    }
    return null;
  }

  private boolean hasMountBelow(List<String> vpath) {
    for (Entry e : mounts) {
      if (e.components.size() > vpath.size()
          && e.components.subList(0, vpath.size()).equals(vpath)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Names directly under {@code dir} that lead to a mount (its mount point, or a directory on the
   * way to a deeper one): names a directory listing must show whether or not the tree holds them.
   */
  List<String> mountPointsUnder(List<String> dir) {
    List<String> names = new ArrayList<>();
    for (Entry e : mounts) {
      if (e.components.size() > dir.size()
          && e.components.subList(0, dir.size()).equals(dir)
          && !names.contains(e.components.get(dir.size()))) {
        names.add(e.components.get(dir.size()));
      }
    }
    return names;
  }

  /** Attributes without following a symlink, except at a mount's root; null when absent. */
  static BasicFileAttributes lstat(Located at) throws IOException {
    if (at.virtual) {
      return VirtualDirectory.ATTRIBUTES;
    }
    try {
      return at.mountRoot
          ? Files.readAttributes(at.host, BasicFileAttributes.class)
          : Files.readAttributes(at.host, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  /**
   * The directory holding {@code at} (not a mount's root), opened from its mount's root one
   * component at a time without following any symlink (openat with O_NOFOLLOW): a directory on the
   * way that was swapped for a symlink since the path was resolved fails the walk ({@link
   * Errno#LOOP}) instead of leading out of the tree.
   */
  static SecureDirectoryStream<Path> openParent(Located at) throws IOException {
    if (at.rest.isEmpty()) {
      throw new IllegalArgumentException("a mount's root has no parent in its mount");
    }
    DirectoryStream<Path> root = Files.newDirectoryStream(at.mount.hostPath());
    if (!(root instanceof SecureDirectoryStream<Path> dir)) {
      root.close();
      throw new UnsupportedOperationException("no openat on this filesystem");
    }
    try {
      for (String c : at.rest.subList(0, at.rest.size() - 1)) {
        SecureDirectoryStream<Path> next =
            dir.newDirectoryStream(Path.of(c), LinkOption.NOFOLLOW_LINKS);
        dir.close();
        dir = next;
      }
      return dir;
    } catch (IOException | RuntimeException e) {
      dir.close();
      throw e;
    }
  }

  /** The last component of a located path that is not a mount's root, relative to its parent. */
  static Path leaf(Located at) {
    return Path.of(at.rest.get(at.rest.size() - 1));
  }

  /** Attributes of a directory on the way (symlinks followed). */
  private static BasicFileAttributes stat(Located at) throws IOException {
    return at.virtual
        ? VirtualDirectory.ATTRIBUTES
        : Files.readAttributes(at.host, BasicFileAttributes.class);
  }

  /**
   * Resolves {@code path} relative to the directory {@code base}, never above it.
   *
   * @param followLast whether a symlink as the last component is followed (a trailing slash always
   *     follows it)
   */
  Resolved resolve(List<String> base, String path, boolean followLast)
      throws WasiError, IOException {
    if (path.isEmpty()) {
      throw new WasiError(Errno.NOENT);
    }
    if (path.startsWith("/")) {
      throw new WasiError(Errno.PERM);
    }
    if (path.indexOf('\0') >= 0) {
      throw new WasiError(Errno.INVAL);
    }
    boolean trailingSlash = path.endsWith("/");
    Deque<String> todo = new ArrayDeque<>();
    for (String c : path.split("/")) {
      if (!c.isEmpty()) {
        todo.addLast(c);
      }
    }
    List<String> cur = new ArrayList<>(base);
    int floor = base.size();
    int links = 0;
    Located at = locate(cur);
    if (at == null) {
      throw new WasiError(Errno.NOENT);
    }
    BasicFileAttributes attrs = stat(at);
    while (!todo.isEmpty()) {
      String c = todo.pollFirst();
      boolean last = todo.isEmpty();
      if (c.equals(".")) {
        continue;
      }
      if (attrs == null) {
        throw new WasiError(Errno.NOENT);
      }
      if (!attrs.isDirectory()) {
        throw new WasiError(Errno.NOTDIR);
      }
      if (c.equals("..")) {
        if (cur.size() <= floor) {
          throw new WasiError(Errno.PERM);
        }
        cur.remove(cur.size() - 1);
        at = locate(cur);
        attrs = stat(at);
        continue;
      }
      cur.add(c);
      at = locate(cur);
      attrs = lstat(at);
      if (attrs != null && attrs.isSymbolicLink() && (!last || followLast || trailingSlash)) {
        if (++links > MAX_SYMLINKS) {
          throw new WasiError(Errno.LOOP);
        }
        String target = Files.readSymbolicLink(at.host).toString();
        if (target.startsWith("/")) {
          throw new WasiError(Errno.PERM);
        }
        cur.remove(cur.size() - 1);
        at = locate(cur);
        attrs = stat(at);
        List<String> parts = new ArrayList<>();
        for (String p : target.split("/")) {
          if (!p.isEmpty()) {
            parts.add(p);
          }
        }
        if (parts.isEmpty()) {
          throw new WasiError(Errno.NOENT);
        }
        for (int i = parts.size() - 1; i >= 0; i--) {
          todo.addFirst(parts.get(i));
        }
      }
    }
    if (trailingSlash && attrs != null && !attrs.isDirectory()) {
      throw new WasiError(Errno.NOTDIR);
    }
    return new Resolved(cur, at, attrs, trailingSlash);
  }
}
