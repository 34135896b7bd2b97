package io.krill.runtime;

import io.krill.engine.GuestSpec;
import io.krill.engine.Preopen;
import io.krill.engine.wasm.WasmBinary;
import io.krill.engine.wasm.WasmFormatException;
import io.krill.oci.RuntimeSpec;
import io.krill.os.RootfsPath;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Turns a bundle into a {@link GuestSpec}: finds the module named by {@code process.args[0]}
 * ({@code path[#function]}, runwasi's convention) inside the rootfs, checks that it is a core wasm
 * module exporting that function, caps its memory, and lists the directories to preopen. Every
 * refusal names the container and says what to change.
 */
final class ModuleLoader {
  static final String DEFAULT_ENTRY = "_start";
  private static final long MAX_MODULE_BYTES = 512L << 20;

  private ModuleLoader() {}

  /** The module as found in the image, before any memory cap, and the guest's argv. */
  record Found(
      String modulePath, String entry, byte[] bytes, WasmBinary binary, List<String> argv) {}

  static Found find(String id, RuntimeSpec spec, Path rootfs) {
    return find(id, spec, rootfs, ImageModules.NONE);
  }

  /**
   * The module named by {@code process.args[0]} in the rootfs; only when nothing at all is there
   * (or there is no command) the image's wasm layer from {@code images}, if the image has one. A
   * path that is empty, a directory or another non-file, or leads out of the rootfs is refused
   * without asking the image: it names something, just not a module.
   */
  static Found find(String id, RuntimeSpec spec, Path rootfs, ImageModules images) {
    List<String> args = spec.args();
    if (!args.isEmpty() && args.get(0).isEmpty()) {
      throw invalid(
          id,
          "process.args[0] is empty: it must be the path of the module in the root filesystem"
              + " (e.g. /app.wasm), optionally path#function");
    }
    if (args.isEmpty()) {
      ImageModules.ImageModule layer =
          images
              .find(id)
              .orElseThrow(
                  () ->
                      invalid(
                          id,
                          "has no command: set the image entrypoint or pass the module path (e.g. /app.wasm)"));
      return fromLayer(id, layer, DEFAULT_ENTRY, List.of(layer.image()));
    }
    String ref = args.get(0);
    int hash = ref.lastIndexOf('#');
    String path = hash >= 0 ? ref.substring(0, hash) : ref;
    String entry = hash >= 0 && hash < ref.length() - 1 ? ref.substring(hash + 1) : DEFAULT_ENTRY;
    String named = path;
    if (!path.startsWith("/")) {
      path = "/" + path;
    }
    Path host;
    try {
      host = RootfsPath.resolve(rootfs, path);
    } catch (IOException e) {
      throw invalid(id, "module " + path + ": " + e.getMessage());
    }
    // "#function" names no file: the image's module, as for a container without a command.
    boolean absent = named.isEmpty() || !Files.exists(host);
    if (!absent && Files.isDirectory(host)) {
      throw invalid(
          id,
          "module "
              + path
              + " is a directory, not a module: point process.args[0] at a .wasm file in it");
    }
    if (!absent && !Files.isRegularFile(host)) {
      throw invalid(
          id,
          "module "
              + path
              + " is not a regular file (a device, FIFO or socket): point process.args[0] at a"
              + " .wasm file");
    }
    if (absent) {
      // Like runwasi: the image's command stays the guest's argv, its first word naming no file.
      List<String> argv = new ArrayList<>();
      argv.add(named);
      argv.addAll(args.subList(1, args.size()));
      String missing = path;
      return images
          .find(id)
          .map(m -> fromLayer(id, m, entry, argv))
          .orElseThrow(
              () ->
                  invalid(
                      id,
                      "module "
                          + missing
                          + " not found in the container's root filesystem"
                          + " (process.args[0] must be the path of a .wasm file in the image, optionally path#function)"));
    }
    byte[] bytes;
    try {
      long size = Files.size(host);
      if (size > MAX_MODULE_BYTES) {
        throw invalid(
            id,
            "module "
                + path
                + " is "
                + (size >> 20)
                + " MiB, larger than krill's limit of "
                + (MAX_MODULE_BYTES >> 20)
                + " MiB");
      }
      bytes = Files.readAllBytes(host);
    } catch (IOException e) {
      throw invalid(id, "cannot read module " + path + ": " + e.getMessage());
    }
    List<String> argv = new ArrayList<>();
    argv.add(path);
    argv.addAll(args.subList(1, args.size()));
    if (!WasmBinary.looksLikeWasm(bytes) && !looksLikeWat(bytes)) {
      // A multi-platform index unpacked for linux gives an ELF here; its wasm entry is what krill
      // should run.
      List<String> imageArgv = new ArrayList<>(argv);
      imageArgv.set(0, named);
      Optional<ImageModules.ImageModule> layer = images.find(id);
      if (layer.isPresent()) {
        return fromLayer(id, layer.get(), entry, imageArgv);
      }
    }
    return check(
        id,
        path,
        "module " + path,
        path + "#<function>",
        "point process.args[0] at a .wasm file",
        entry,
        bytes,
        argv);
  }

  /**
   * An exec's module: a file in the rootfs, as for a container. When there is none and the
   * container runs its image's wasm layer, the exec reaches that layer by naming it as the
   * container does: the container's own {@code args[0]}, or no path at all ({@code #healthz}); any
   * other missing path stays an error, so a typo never runs the application a second time.
   */
  static Found findForExec(
      String id, RuntimeSpec exec, List<String> containerArgs, Path rootfs, ImageModules images) {
    String execPath = modulePathOf(exec.args().isEmpty() ? "" : exec.args().get(0));
    String containerPath = modulePathOf(containerArgs.isEmpty() ? "" : containerArgs.get(0));
    if (execPath.isEmpty() || execPath.equals(containerPath)) {
      return find(id, exec, rootfs, images);
    }
    try {
      return find(id, exec, rootfs, ImageModules.NONE);
    } catch (KrillException e) {
      if (e.code() == ErrorCode.INVALID_ARGUMENT && images.find(id).isPresent()) {
        throw new KrillException(
            ErrorCode.INVALID_ARGUMENT,
            e.getMessage()
                + "; this container runs its image's"
                + " wasm layer, which an exec names as "
                + (containerPath.isEmpty() ? "" : containerPath)
                + "#<function>");
      }
      throw e;
    }
  }

  private static String modulePathOf(String ref) {
    int hash = ref.lastIndexOf('#');
    return hash >= 0 ? ref.substring(0, hash) : ref;
  }

  private static Found fromLayer(
      String id, ImageModules.ImageModule m, String entry, List<String> argv) {
    String what = "the wasm layer " + m.layer() + " of image " + m.image();
    return check(
        id,
        "layer " + m.layer(),
        what,
        "process.args[0] = " + argv.get(0) + "#<function>",
        "the image's wasm layer must hold a core module",
        entry,
        m.bytes(),
        argv);
  }

  /**
   * The same checks for a rootfs file and for a layer; {@code name} is how messages refer to it.
   */
  private static Found check(
      String id,
      String path,
      String name,
      String nameFunction,
      String notWasmHint,
      String entry,
      byte[] bytes,
      List<String> argv) {
    if (!WasmBinary.looksLikeWasm(bytes)) {
      if (looksLikeWat(bytes)) {
        // Text modules are compiled by Wasmtime directly; an export is declared as (export "name").
        if (!new String(bytes, StandardCharsets.UTF_8).contains("(export \"" + entry + "\"")) {
          throw invalid(
              id,
              name + " has no exported function \"" + entry + "\"; name one with " + nameFunction);
        }
        return new Found(path, entry, bytes, null, argv);
      }
      String what =
          bytes.length >= 4
                  && bytes[0] == 0x7f
                  && bytes[1] == 'E'
                  && bytes[2] == 'L'
                  && bytes[3] == 'F'
              ? "a Linux executable (ELF), not WebAssembly: run it with runc, not krill"
              : "not a WebAssembly module (no \\0asm header): " + notWasmHint;
      throw invalid(id, name + " is " + what);
    }
    WasmBinary binary;
    try {
      binary = WasmBinary.parse(bytes);
    } catch (WasmFormatException e) {
      throw invalid(
          id,
          name
              + " is not a valid WebAssembly module: "
              + e.getMessage()
              + "; rebuild it, or point"
              + " process.args[0] at a valid module");
    }
    if (!binary.functionExports().contains(entry)) {
      throw invalid(
          id,
          name
              + " has no exported function \""
              + entry
              + "\" (it exports "
              + binary.functionExports()
              + "); name one with "
              + nameFunction);
    }
    return new Found(path, entry, bytes, binary, argv);
  }

  /** The guest to run: argv, the spec's exact env, rootfs at "/" plus bind mounts, stdio paths. */
  static GuestSpec guestSpec(
      String id,
      Path bundle,
      Stdio.Files stdio,
      RuntimeSpec spec,
      Path rootfs,
      Found module,
      long memoryLimit) {
    byte[] bytes = module.bytes();
    if (memoryLimit > 0 && module.binary() == null) {
      throw invalid(
          id,
          "module "
              + module.modulePath()
              + " is WebAssembly text; a memory limit can only be"
              + " enforced on a binary module (compile it with wat2wasm) or run it without a limit");
    }
    if (memoryLimit > 0) {
      try {
        bytes = module.binary().withMemoryMaximum(Math.max(1, memoryLimit / WasmBinary.PAGE));
      } catch (WasmFormatException e) {
        throw invalid(
            id,
            "module "
                + module.modulePath()
                + ": "
                + e.getMessage()
                + "; raise the container's memory limit");
      }
    }
    List<String> argv = module.argv();
    List<Preopen> preopens = new ArrayList<>();
    boolean rootReadOnly = spec.root() != null && Boolean.TRUE.equals(spec.root().readonly());
    preopens.add(new Preopen(rootfs, "/", rootReadOnly));
    for (RuntimeSpec.Mount m : spec.mounts()) {
      if (!m.isBind() || m.source() == null || m.destination() == null) {
        continue;
      }
      Path source = bundle.resolve(m.source());
      // A file (kubelet's /etc/resolv.conf, /etc/hosts) is reached through the tree it sits in.
      if (Files.isDirectory(source) || Files.isRegularFile(source)) {
        preopens.add(new Preopen(source, m.destination(), m.readOnly()));
      }
    }
    return new GuestSpec(
        id,
        module.modulePath(),
        bytes,
        module.entry(),
        argv,
        spec.env(),
        preopens,
        stdio.stdin(),
        stdio.stdout(),
        stdio.stderr(),
        memoryLimit);
  }

  private static boolean looksLikeWat(byte[] bytes) {
    String head =
        new String(bytes, 0, Math.min(bytes.length, 64 * 1024), StandardCharsets.UTF_8)
            .stripLeading();
    while (head.startsWith(";;")) {
      int nl = head.indexOf('\n');
      head = nl < 0 ? "" : head.substring(nl + 1).stripLeading();
    }
    return head.startsWith("(module");
  }

  static KrillException invalid(String id, String message) {
    return new KrillException(ErrorCode.INVALID_ARGUMENT, "container " + id + ": " + message);
  }
}
