package io.krill.os;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Resolves a path as the container sees it against the host directory of its root filesystem,
 * following symlinks as if the root were {@code /}: an absolute or {@code ..}-laden link can never
 * lead outside the rootfs.
 */
public final class RootfsPath {
  private static final int MAX_LINKS = 40;

  private RootfsPath() {}

  public static Path resolve(Path root, String containerPath) throws IOException {
    if (containerPath.indexOf('\0') >= 0) {
      // The JDK would throw its unchecked InvalidPathException; callers handle IOException.
      throw new IOException(
          "\""
              + containerPath.replace("\0", "\\0")
              + "\" contains a NUL character, which no path may hold");
    }
    Deque<String> todo = new ArrayDeque<>();
    push(todo, containerPath);
    Deque<String> done = new ArrayDeque<>();
    int links = 0;
    while (!todo.isEmpty()) {
      String part = todo.pop();
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        done.pollLast();
        continue;
      }
      done.addLast(part);
      Path host = join(root, done);
      if (Files.isSymbolicLink(host)) {
        if (++links > MAX_LINKS) {
          throw new IOException("too many symbolic links resolving " + containerPath);
        }
        String target = Files.readSymbolicLink(host).toString();
        done.pollLast();
        if (target.startsWith("/")) {
          done.clear();
        }
        push(todo, target);
      }
    }
    Path result = join(root, done);
    if (!result.normalize().startsWith(root.normalize())) {
      throw new IOException(containerPath + " resolves outside the container's root filesystem");
    }
    return result;
  }

  private static void push(Deque<String> todo, String path) {
    String[] parts = path.split("/");
    for (int i = parts.length - 1; i >= 0; i--) {
      todo.push(parts[i]);
    }
  }

  private static Path join(Path root, Deque<String> parts) {
    Path p = root;
    for (String s : parts) {
      p = p.resolve(s);
    }
    return p;
  }
}
