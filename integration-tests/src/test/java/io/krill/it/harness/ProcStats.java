package io.krill.it.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** What a process holds, from /proc: threads, open file descriptors, resident memory. */
public record ProcStats(long pid, int threads, int fds, long rssKib) {

  public static ProcStats of(long pid) {
    Path proc = Path.of("/proc", Long.toString(pid));
    try {
      int threads = -1;
      long rss = -1;
      for (String line : Files.readAllLines(proc.resolve("status"))) {
        if (line.startsWith("Threads:")) {
          threads = Integer.parseInt(line.substring(8).strip());
        } else if (line.startsWith("VmRSS:")) {
          rss = Long.parseLong(line.substring(6).strip().split("\\s+")[0]);
        }
      }
      int fds;
      try (Stream<Path> s = Files.list(proc.resolve("fd"))) {
        fds = (int) s.count();
      }
      return new ProcStats(pid, threads, fds, rss);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read /proc of " + pid, e);
    }
  }

  @Override
  public String toString() {
    return "pid "
        + pid
        + ": "
        + threads
        + " threads, "
        + fds
        + " fds, RSS "
        + rssKib / 1024
        + " MiB";
  }
}
