package io.krill.os;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Where CPU cgroups are made on this host: the cgroup v1 cpu and cpuacct hierarchies (one mount
 * {@code cpu,cpuacct} or two), and the daemon's own cgroup in each, where threads go back to. On a
 * host with no v1 cpu hierarchy (cgroup v2 only, or none mounted) CPU limits are not enforced: v2
 * moves threads only inside a threaded subtree, which the daemon's cgroup is not.
 *
 * <p>The memory and pids hierarchies, where mounted, are for processes only ({@link
 * #createForProcess}: a pod sandbox's): a guest thread's memory is charged to the daemon's process
 * whichever memory cgroup the thread is in, as cgroup v1 charges a process's pages to the memory
 * cgroup of its thread group leader.
 */
public final class CpuCgroups {
  private final Path cpuRoot;
  private final Path cpuacctRoot;
  private final String ownCpu;
  private final String ownCpuacct;
  private final String unavailable;

  /** The process-only hierarchies (memory, pids): controller to root, and the daemon's path. */
  private final Map<String, Path> processRoots;

  private final Map<String, String> processOwn;

  private CpuCgroups(
      Path cpuRoot,
      Path cpuacctRoot,
      String ownCpu,
      String ownCpuacct,
      String unavailable,
      Map<String, Path> processRoots,
      Map<String, String> processOwn) {
    this.cpuRoot = cpuRoot;
    this.cpuacctRoot = cpuacctRoot;
    this.ownCpu = ownCpu;
    this.ownCpuacct = ownCpuacct;
    this.unavailable = unavailable;
    this.processRoots = Map.copyOf(processRoots);
    this.processOwn = Map.copyOf(processOwn);
  }

  /**
   * Hierarchies rooted at the given directories (the same one when cpu and cpuacct are mounted
   * together); {@code ownCpu}/{@code ownCpuacct} are the daemon's cgroup paths in them.
   */
  public static CpuCgroups at(Path cpuRoot, Path cpuacctRoot, String ownCpu, String ownCpuacct) {
    return new CpuCgroups(cpuRoot, cpuacctRoot, ownCpu, ownCpuacct, null, Map.of(), Map.of());
  }

  /**
   * These hierarchies and a process-only one ({@code memory} or {@code pids}) rooted at {@code
   * root}, where the daemon's cgroup is {@code own}.
   */
  public CpuCgroups withProcessHierarchy(String controller, Path root, String own) {
    Map<String, Path> roots = new LinkedHashMap<>(processRoots);
    Map<String, String> owns = new LinkedHashMap<>(processOwn);
    roots.put(controller, root);
    owns.put(controller, own);
    return new CpuCgroups(cpuRoot, cpuacctRoot, ownCpu, ownCpuacct, unavailable, roots, owns);
  }

  /** No CPU cgroups: limits are not enforced, for {@code reason}. */
  public static CpuCgroups none(String reason) {
    return new CpuCgroups(null, null, null, null, reason, Map.of(), Map.of());
  }

  /** This host's hierarchies, from /proc/self/mountinfo and /proc/self/cgroup. */
  public static CpuCgroups detect() {
    try {
      return detect(
          Files.readAllLines(Path.of("/proc/self/mountinfo")),
          Files.readAllLines(Path.of("/proc/self/cgroup")));
    } catch (IOException e) {
      return none("cannot read /proc/self/mountinfo or /proc/self/cgroup: " + e.getMessage());
    }
  }

  static CpuCgroups detect(List<String> mountinfo, List<String> procCgroup) {
    Path cpu = null;
    Path cpuacct = null;
    Map<String, Path> processRoots = new LinkedHashMap<>();
    boolean v2 = false;
    for (String line : mountinfo) {
      String[] f = line.split(" ");
      int dash = List.of(f).indexOf("-");
      if (dash < 0 || f.length < dash + 4 || f.length < 5) {
        continue;
      }
      String type = f[dash + 1];
      if (type.equals("cgroup2")) {
        v2 = true;
      }
      if (!type.equals("cgroup") || !f[3].equals("/")) {
        continue;
      }
      List<String> options = List.of(f[dash + 3].split(","));
      if (options.contains("cpu") && cpu == null) {
        cpu = Path.of(unescape(f[4]));
      }
      if (options.contains("cpuacct") && cpuacct == null) {
        cpuacct = Path.of(unescape(f[4]));
      }
      for (String controller : PROCESS_CONTROLLERS) {
        if (options.contains(controller)) {
          processRoots.putIfAbsent(controller, Path.of(unescape(f[4])));
        }
      }
    }
    if (cpu == null || cpuacct == null) {
      return none(
          v2
              ? "the host has cgroup v2 (unified) only, where a thread joins a cgroup only inside a"
                  + " threaded subtree; krill does not enforce CPU limits there"
              : "no cgroup v1 cpu and cpuacct hierarchies are mounted");
    }
    CpuCgroups found = at(cpu, cpuacct, own(procCgroup, "cpu"), own(procCgroup, "cpuacct"));
    for (Map.Entry<String, Path> e : processRoots.entrySet()) {
      if (!e.getValue().equals(cpu) && !e.getValue().equals(cpuacct)) {
        found = found.withProcessHierarchy(e.getKey(), e.getValue(), own(procCgroup, e.getKey()));
      }
    }
    return found;
  }

  /** The hierarchies a pod sandbox's process joins besides cpu and cpuacct. */
  private static final List<String> PROCESS_CONTROLLERS = List.of("memory", "pids");

  /** The path of this process's cgroup in the v1 hierarchy of {@code controller}. */
  private static String own(List<String> procCgroup, String controller) {
    for (String line : procCgroup) {
      String[] f = line.split(":", 3);
      if (f.length == 3 && List.of(f[1].split(",")).contains(controller)) {
        return f[2];
      }
    }
    return "/";
  }

  private static String unescape(String mountPoint) {
    return mountPoint.replace("\\040", " ");
  }

  /** Whether CPU limits are enforced on this host. */
  public boolean enforced() {
    return unavailable == null;
  }

  /** Why they are not ({@link #enforced()} false), else empty. */
  public Optional<String> unavailableReason() {
    return Optional.ofNullable(unavailable);
  }

  /**
   * The mount points of the hierarchies cgroups are made in (cpu, cpuacct, and memory and pids
   * where mounted apart); empty where limits are not enforced.
   */
  public List<Path> roots() {
    if (!enforced()) {
      return List.of();
    }
    Set<Path> out = new LinkedHashSet<>();
    out.add(cpuRoot);
    out.add(cpuacctRoot);
    out.addAll(processRoots.values());
    return List.copyOf(out);
  }

  /**
   * Creates (or adopts) the cgroup at {@code path} in both hierarchies and writes {@code limits}.
   */
  public CpuCgroup create(String path, CpuLimits limits) throws IOException {
    return make(path, limits, false);
  }

  /**
   * Creates (or adopts) the cgroup of a process at {@code path}: in the cpu and cpuacct hierarchies
   * and in the memory and pids ones this host mounts, so that the process's memory and pids are
   * charged there ({@link CpuCgroup#addProcess}).
   */
  public CpuCgroup createForProcess(String path) throws IOException {
    return make(path, CpuLimits.NONE, true);
  }

  private CpuCgroup make(String path, CpuLimits limits, boolean process) throws IOException {
    if (!enforced()) {
      throw new IOException("CPU limits are not enforced on this host: " + unavailable);
    }
    Map<Path, Path> homes = new LinkedHashMap<>();
    homes.put(dir(cpuRoot, path), dir(cpuRoot, ownCpu));
    homes.putIfAbsent(dir(cpuacctRoot, path), dir(cpuacctRoot, ownCpuacct));
    Path memory = null;
    if (process) {
      for (Map.Entry<String, Path> e : processRoots.entrySet()) {
        Path d = dir(e.getValue(), path);
        homes.putIfAbsent(d, dir(e.getValue(), processOwn.get(e.getKey())));
        if (e.getKey().equals("memory")) {
          memory = d;
        }
      }
    }
    List<Path> made = new ArrayList<>();
    try {
      for (Path d : homes.keySet()) {
        mkdirsRacing(d, made);
      }
      CpuCgroup cgroup =
          new CpuCgroup(path, homes, dir(cpuRoot, path), dir(cpuacctRoot, path), memory, made);
      cgroup.update(limits);
      return cgroup;
    } catch (IOException e) {
      for (int i = made.size() - 1; i >= 0; i--) {
        try {
          Files.deleteIfExists(made.get(i));
        } catch (IOException ignored) {
          // left for the next attempt to adopt
        }
      }
      throw new IOException("cannot set up cgroup " + path + ": " + e.getMessage(), e);
    }
  }

  /**
   * {@link #mkdirs}, again when a parent went meanwhile: another daemon removed a namespace
   * directory it made as it became empty, between our finding and our using it.
   */
  private static void mkdirsRacing(Path dir, List<Path> made) throws IOException {
    for (int attempt = 1; ; attempt++) {
      try {
        mkdirs(dir, made);
        return;
      } catch (NoSuchFileException parentGone) {
        if (attempt == 3) {
          throw parentGone;
        }
      }
    }
  }

  /** Like {@link Files#createDirectories}, recording each directory it made, parents first. */
  private static void mkdirs(Path dir, List<Path> made) throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    Path parent = dir.getParent();
    if (parent != null) {
      mkdirs(parent, made);
    }
    try {
      Files.createDirectory(dir);
      made.add(dir);
    } catch (FileAlreadyExistsException raced) {
      // made by someone else meanwhile: theirs to remove
    }
  }

  private static Path dir(Path root, String path) {
    Path p = root;
    for (String part : path.split("/")) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        throw new IllegalArgumentException("cgroup path " + path + " must not contain ..");
      }
      p = p.resolve(part);
    }
    return p;
  }

  /**
   * The cgroup path for a container: {@code cgroupsPath} from its OCI spec when set, either a
   * cgroupfs path ({@code /kubepods/burstable/pod<uid>/<id>}) or systemd's {@code
   * slice:prefix:name} form translated to the directories systemd makes ({@code
   * /kubepods.slice/kubepods-burstable.slice/.../cri-containerd-<id>.scope}); else {@code
   * <fallbackParent>/<id>}. Empty when {@code cgroupsPath} is neither form.
   */
  public static Optional<String> pathFor(String cgroupsPath, String fallbackParent, String id) {
    if (cgroupsPath == null || cgroupsPath.isBlank()) {
      return Optional.of(join(fallbackParent, id));
    }
    if (cgroupsPath.contains("..")) {
      return Optional.empty();
    }
    if (cgroupsPath.startsWith("/")) {
      return Optional.of(cgroupsPath);
    }
    String[] f = cgroupsPath.split(":", -1);
    if (f.length != 3 || f[2].isEmpty()) {
      return Optional.empty();
    }
    String slice = f[0].isEmpty() ? "system.slice" : f[0];
    if (!slice.endsWith(".slice")) {
      return Optional.empty();
    }
    String unit = f[1].isEmpty() ? f[2] : f[1] + "-" + f[2];
    return Optional.of(
        expandSlice(slice) + "/" + (unit.endsWith(".slice") ? unit : unit + ".scope"));
  }

  /**
   * The cgroup path of a pod whose containers' cgroups go under it: {@code cgroupParent} (kubelet's
   * pod cgroup: a cgroupfs path, or with the systemd driver a slice such as {@code
   * kubepods-besteffort-pod<uid>.slice}) when set, else {@code <fallbackParent>/<podId>}.
   */
  public static String podPathFor(String cgroupParent, String fallbackParent, String podId) {
    if (cgroupParent != null && !cgroupParent.isBlank() && !cgroupParent.contains("..")) {
      if (cgroupParent.startsWith("/")) {
        return cgroupParent;
      }
      if (cgroupParent.endsWith(".slice") && !cgroupParent.contains(":")) {
        return expandSlice(cgroupParent);
      }
    }
    return join(fallbackParent, podId);
  }

  /** systemd's slice naming: {@code a-b-c.slice} lives in {@code a.slice/a-b.slice/}. */
  static String expandSlice(String slice) {
    if (slice.equals("-.slice")) {
      return "";
    }
    String name = slice.substring(0, slice.length() - ".slice".length());
    StringBuilder out = new StringBuilder();
    int from = 0;
    int dash;
    while ((dash = name.indexOf('-', from)) >= 0) {
      out.append('/').append(name, 0, dash).append(".slice");
      from = dash + 1;
    }
    return out.append('/').append(slice).toString();
  }

  private static String join(String parent, String id) {
    String p = parent.startsWith("/") ? parent : "/" + parent;
    return (p.endsWith("/") ? p : p + "/") + id;
  }
}
