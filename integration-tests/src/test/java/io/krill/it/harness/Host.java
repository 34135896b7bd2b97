package io.krill.it.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Host-side views and actions the harness needs: processes by command line or environment, mounts,
 * cleanup.
 */
public final class Host {
  /** Every krill daemon log ({@code daemon.log*}) below a run dir, concatenated. */
  public static String daemonLogs(Path runDir) throws IOException {
    StringBuilder all = new StringBuilder();
    try (Stream<Path> logs = Files.walk(runDir)) {
      for (Path p :
          logs.filter(p -> p.getFileName().toString().startsWith("daemon.log")).toList()) {
        all.append(Files.readString(p));
      }
    }
    return all.toString();
  }

  private Host() {}

  /** One live process; argv and environment read once from /proc (they may vanish at any time). */
  public record Proc(long pid, String comm, List<String> argv, List<String> environ) {
    public boolean isJava() {
      return "java".equals(comm) || isProgram("java");
    }

    /** Whether argv[0] names {@code program} (comm is cut to 15 characters, so it cannot tell). */
    public boolean isProgram(String program) {
      if (argv.isEmpty() || argv.get(0).isEmpty()) {
        return false;
      }
      Path name = Path.of(argv.get(0)).getFileName();
      return name != null && name.toString().equals(program);
    }

    public boolean mentions(String text) {
      return argv.stream().anyMatch(a -> a.contains(text));
    }

    public boolean hasEnv(String entry) {
      return environ.contains(entry);
    }
  }

  public static List<Proc> all() {
    List<Proc> out = new ArrayList<>();
    try (Stream<Path> s = Files.list(Path.of("/proc"))) {
      for (Path p : (Iterable<Path>) s::iterator) {
        String name = p.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit)) {
          continue;
        }
        try {
          String comm = Files.readString(p.resolve("comm")).strip();
          List<String> argv = split(Files.readAllBytes(p.resolve("cmdline")));
          List<String> env = split(Files.readAllBytes(p.resolve("environ")));
          out.add(new Proc(Long.parseLong(name), comm, argv, env));
        } catch (NoSuchFileException e) {
          // exited while we looked
        } catch (IOException e) {
          // zombie or kernel thread without readable environ
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot list /proc", e);
    }
    return out;
  }

  private static List<String> split(byte[] nulSeparated) {
    if (nulSeparated.length == 0) {
      return List.of();
    }
    String s = new String(nulSeparated, StandardCharsets.UTF_8);
    if (s.endsWith("\0")) {
      s = s.substring(0, s.length() - 1);
    }
    return Arrays.asList(s.split("\0", -1));
  }

  public static boolean alive(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && !isZombie(pid);
  }

  private static boolean isZombie(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      int close = stat.lastIndexOf(')');
      return close > 0 && stat.length() > close + 2 && stat.charAt(close + 2) == 'Z';
    } catch (IOException e) {
      return false;
    }
  }

  /** A process's threads by id, each with its name as the kernel has it (15 bytes at most). */
  public static Map<Long, String> threads(long pid) throws IOException {
    Map<Long, String> out = new HashMap<>();
    try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
      for (Path t : tasks.toList()) {
        try {
          out.put(
              Long.parseLong(t.getFileName().toString()),
              Files.readString(t.resolve("comm")).strip());
        } catch (IOException gone) {
          // the thread ended while we looked
        }
      }
    }
    return out;
  }

  /** A process's open descriptors and what each refers to. */
  public static Map<Integer, String> fds(long pid) throws IOException {
    Map<Integer, String> out = new HashMap<>();
    try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
      for (Path f : fds.toList()) {
        try {
          out.put(
              Integer.parseInt(f.getFileName().toString()), Files.readSymbolicLink(f).toString());
        } catch (IOException gone) {
          // closed while we looked
        }
      }
    }
    return out;
  }

  /**
   * Whether a thread is one krill runs for container {@code id}: its guest ({@code guest-ID}) or
   * the opener of its stdin FIFO ({@code stdin-open-ID}), as the kernel cuts names to 15 bytes.
   */
  public static boolean isGuestThreadOf(String comm, String id) {
    return comm.length() > 0
        && (("guest-" + id).startsWith(comm) || ("stdin-open-" + id).startsWith(comm));
  }

  /** The number of threads of process {@code pid}, from /proc/PID/status. */
  public static int threadCount(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("Threads:")) {
          return Integer.parseInt(line.substring("Threads:".length()).strip());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the status of process " + pid, e);
    }
    throw new IllegalStateException("no thread count in /proc/" + pid + "/status");
  }

  /** Mount points at or below {@code dir}, deepest first so they can be unmounted in order. */
  public static List<Path> mountsUnder(Path dir) {
    List<Path> out = new ArrayList<>();
    String prefix = dir.toString();
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
        String[] f = line.split(" ");
        if (f.length < 5) {
          continue;
        }
        String mp = unescape(f[4]);
        if (mp.equals(prefix) || mp.startsWith(prefix + "/")) {
          out.add(Path.of(mp));
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot read mountinfo", e);
    }
    out.sort(Comparator.comparingInt(Path::getNameCount).reversed());
    return out;
  }

  // mountinfo escapes space, tab, newline and backslash as \ooo
  private static String unescape(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 3 < s.length()) {
        try {
          b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
          i += 3;
          continue;
        } catch (NumberFormatException e) {
          // not an escape
        }
      }
      b.append(c);
    }
    return b.toString();
  }

  /**
   * Reaps runc shims (and their containers) still serving {@code socket} once containerd is gone: a
   * test that timed out must not leave runc state behind, since runc keeps it globally under
   * /run/containerd/runc.
   */
  public static List<String> reapRuncShims(Path socket) {
    List<String> reaped = new ArrayList<>();
    for (Proc p : all()) {
      int a = p.argv().indexOf("-address");
      if (!p.isProgram("containerd-shim-runc-v2")
          || a < 0
          || a + 1 >= p.argv().size()
          || !p.argv().get(a + 1).equals(socket.toString())) {
        continue;
      }
      int ns = p.argv().indexOf("-namespace");
      int id = p.argv().indexOf("-id");
      if (ns >= 0 && id >= 0 && ns + 1 < p.argv().size() && id + 1 < p.argv().size()) {
        run(
            "runc",
            "--root",
            "/run/containerd/runc/" + p.argv().get(ns + 1),
            "delete",
            "--force",
            p.argv().get(id + 1));
      }
      // SIGTERM first: the shim then removes its socket under /run/containerd/s.
      ProcessHandle.of(p.pid())
          .ifPresent(
              h -> {
                h.destroy();
                try {
                  h.onExit().get(5, TimeUnit.SECONDS);
                } catch (Exception e) {
                  h.destroyForcibly();
                }
              });
      reaped.add("runc shim left: " + String.join(" ", p.argv()));
    }
    return reaped;
  }

  /** Runs a short host command (umount, kill) and returns its exit code. */
  public static int run(String... cmd) {
    try {
      Process p =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return -1;
      }
      return p.exitValue();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  public static void deleteTree(Path root) {
    // Files.walk does not follow symlinks, so the bundles' "work" links are removed, not their
    // targets.
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + root, e);
    }
  }

  /** A TCP port on 127.0.0.1 that nothing listens on as this returns. */
  public static int freeLoopbackPort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
