package io.krill.oci;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The parts of an OCI runtime bundle's {@code config.json} that a wasm runtime uses. Everything
 * else (capabilities, seccomp, namespaces we do not enter, ...) is ignored on purpose.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record RuntimeSpec(
    String ociVersion,
    Process process,
    Root root,
    List<Mount> mounts,
    Map<String, String> annotations,
    Linux linux,
    String hostname) {

  private static final ObjectMapper JSON =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  public RuntimeSpec {
    mounts = mounts == null ? List.of() : List.copyOf(mounts);
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
  }

  /** Reads {@code <bundle>/config.json}. */
  public static RuntimeSpec read(Path bundle) throws IOException {
    Path file = bundle.resolve("config.json");
    try {
      return parse(Files.readAllBytes(file));
    } catch (NoSuchFileException e) {
      throw new IOException("bundle " + bundle + " has no config.json", e);
    }
  }

  public static RuntimeSpec parse(byte[] json) throws IOException {
    return read(json, RuntimeSpec.class, "config.json is");
  }

  /** Jackson reads a JSON {@code null} as a null value; none of these documents may be one. */
  private static <T> T read(byte[] json, Class<T> type, String what) throws IOException {
    T value = JSON.readValue(json, type);
    if (value == null) {
      throw new IOException(what + " not a JSON object");
    }
    return value;
  }

  /** The root filesystem path on the host: relative paths are relative to the bundle. */
  public Path rootPath(Path bundle) {
    String p =
        root == null || root.path() == null || root.path().isEmpty() ? "rootfs" : root.path();
    return bundle.resolve(p).normalize();
  }

  /** {@code linux.resources.memory.limit}, when set to a positive value. */
  public Optional<Long> memoryLimit() {
    if (linux == null || linux.resources() == null || linux.resources().memory() == null) {
      return Optional.empty();
    }
    Long limit = linux.resources().memory().limit();
    return limit == null || limit <= 0 ? Optional.empty() : Optional.of(limit);
  }

  /** {@code linux.resources.cpu}, when it sets anything. */
  public Optional<Cpu> cpu() {
    if (linux == null || linux.resources() == null || linux.resources().cpu() == null) {
      return Optional.empty();
    }
    Cpu cpu = linux.resources().cpu();
    return cpu.isEmpty() ? Optional.empty() : Optional.of(cpu);
  }

  /** {@code linux.cgroupsPath}, when set. */
  public Optional<String> cgroupsPath() {
    return linux == null || linux.cgroupsPath() == null || linux.cgroupsPath().isBlank()
        ? Optional.empty()
        : Optional.of(linux.cgroupsPath());
  }

  public List<String> args() {
    return process == null || process.args() == null ? List.of() : process.args();
  }

  public List<String> env() {
    return process == null || process.env() == null ? List.of() : process.env();
  }

  public String cwd() {
    return process == null || process.cwd() == null || process.cwd().isEmpty()
        ? "/"
        : process.cwd();
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Process(List<String> args, List<String> env, String cwd, Boolean terminal) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Root(String path, Boolean readonly) {}

  private static final List<String> PROPAGATIONS =
      List.of("rprivate", "private", "rshared", "shared", "rslave", "slave");

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Mount(String destination, String type, String source, List<String> options) {
    public Mount {
      options = options == null ? List.of() : List.copyOf(options);
    }

    public boolean isBind() {
      return "bind".equals(type) || options.contains("bind") || options.contains("rbind");
    }

    public boolean readOnly() {
      return options.contains("ro");
    }

    /**
     * The propagation option ({@code rprivate}, {@code private}, {@code rshared}, {@code shared},
     * {@code rslave}, {@code slave}), the last one given as mount(8) applies them, or null for
     * none.
     */
    @JsonIgnore
    public String propagation() {
      String found = null;
      for (String o : options) {
        if (PROPAGATIONS.contains(o)) {
          found = o;
        }
      }
      return found;
    }

    /** Whether the mount asks not to see what is mounted under its source later. */
    @JsonIgnore
    public boolean isPrivate() {
      String p = propagation();
      return "rprivate".equals(p) || "private".equals(p);
    }

    /** Creates a copy of this mount with a different source. */
    public Mount withSource(String newSource) {
      return new Mount(destination, type, newSource, options);
    }
  }

  /**
   * {@code cgroupsPath}: where the container's cgroup goes, either a path ({@code
   * /kubepods/burstable/pod<uid>/<id>}) or systemd's {@code slice:prefix:name}.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Linux(Resources resources, List<Namespace> namespaces, String cgroupsPath) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Resources(Memory memory, Cpu cpu) {}

  /**
   * {@code linux.resources.cpu}: CFS quota and period in microseconds (quota -1: unlimited) and the
   * relative weight {@code shares}; an absent field is left as it is.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Cpu(Long shares, Long quota, Long period) {
    @JsonIgnore
    public boolean isEmpty() {
      return shares == null && quota == null && period == null;
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Memory(Long limit) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Namespace(String type, String path) {}

  /** The same spec with other mounts. */
  public RuntimeSpec withMounts(List<Mount> m) {
    return new RuntimeSpec(ociVersion, process, root, m, annotations, linux, hostname);
  }

  /** The same spec with other annotations. */
  public RuntimeSpec withAnnotations(Map<String, String> a) {
    return new RuntimeSpec(ociVersion, process, root, mounts, a, linux, hostname);
  }

  /** The same spec with another process (an exec runs in its container's context). */
  public RuntimeSpec withProcess(Process p) {
    return new RuntimeSpec(ociVersion, p, root, mounts, annotations, linux, hostname);
  }

  /** Parses the JSON of an OCI {@code Process}, as Exec sends it. */
  public static Process parseProcess(byte[] json) throws IOException {
    return read(json, Process.class, "the process spec is");
  }

  /** The path of the namespace of {@code type} ("network", "ipc", ...) the spec asks to join. */
  public Optional<String> namespacePath(String type) {
    if (linux == null || linux.namespaces() == null) {
      return Optional.empty();
    }
    return linux.namespaces().stream()
        .filter(n -> type.equals(n.type()) && n.path() != null && !n.path().isEmpty())
        .map(Namespace::path)
        .findFirst();
  }

  /**
   * Parses the JSON of a {@code LinuxResources} (as sent by Update) and returns its memory limit.
   */
  public static Optional<Long> memoryLimitOfResources(byte[] json) throws IOException {
    Resources r = resources(json);
    return r.memory() == null || r.memory().limit() == null || r.memory().limit() <= 0
        ? Optional.empty()
        : Optional.of(r.memory().limit());
  }

  /** Parses the JSON of a {@code LinuxResources} (as sent by Update) and returns its CPU part. */
  public static Optional<Cpu> cpuOfResources(byte[] json) throws IOException {
    Cpu cpu = resources(json).cpu();
    return cpu == null || cpu.isEmpty() ? Optional.empty() : Optional.of(cpu);
  }

  private static Resources resources(byte[] json) throws IOException {
    return read(json, Resources.class, "the resources are");
  }
}
