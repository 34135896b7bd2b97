package io.krill.os;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The kernel's view of Java threads. */
public final class Threads {
  private static final Path THREAD_SELF = Path.of("/proc/thread-self");

  private Threads() {}

  /**
   * The kernel thread id (gettid(2)) of the calling thread: {@code /proc/thread-self} links to
   * {@code <pid>/task/<tid>}.
   */
  public static int currentTid() throws IOException {
    String link = Files.readSymbolicLink(THREAD_SELF).toString();
    int slash = link.lastIndexOf('/');
    try {
      return Integer.parseInt(link.substring(slash + 1));
    } catch (NumberFormatException e) {
      throw new IOException("unexpected /proc/thread-self link: " + link, e);
    }
  }
}
