package io.krill.cli;

import io.krill.oci.image.Descriptor;
import io.krill.oci.image.ImageReference;
import io.krill.oci.image.Platform;
import io.krill.oci.layout.LayoutTarball;
import io.krill.oci.layout.OciLayout;
import io.krill.oci.layout.WasmImageBuilder;
import io.krill.oci.registry.Credentials;
import io.krill.oci.registry.ImageTransfer;
import io.krill.oci.registry.RegistryClient;
import io.krill.oci.registry.RegistryException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/** {@code krill image build|push|pull|inspect}: wasm images without a container engine. */
final class ImageCommand implements Command {
  private final Supplier<InputStream> stdin;

  ImageCommand() {
    this(() -> System.in);
  }

  ImageCommand(Supplier<InputStream> stdin) {
    this.stdin = stdin;
  }

  @Override
  public String name() {
    return "image";
  }

  @Override
  public String summary() {
    return "build, push, pull and inspect wasm OCI images";
  }

  @Override
  public String usage() {
    return String.join("\n  ",
        "build [--artifact] -t NAME[:TAG] -o OUT.tar|OUTDIR MODULE.wasm [--file PATH_IN_IMAGE=HOSTFILE]..."
            + " [--arg A]... [--env K=V]... [--annotation K=V]... [--platform os/arch]",
        "push SRC.tar|SRCDIR REF [--plain-http] [--username U --password-stdin]",
        "pull REF -o OUT.tar|OUTDIR [--plain-http] [--username U --password-stdin]",
        "inspect REF|IMAGE.tar|DIR [--plain-http] [--username U --password-stdin]");
  }

  @Override
  public int run(List<String> args, Console console) throws Exception {
    try {
      return dispatch(args, console);
    } catch (RegistryException | IOException e) {
      // Registry answers, digest mismatches and unsafe archives are the user's to act on: no stack trace.
      throw new Console.Refusal(e.getMessage());
    }
  }

  private int dispatch(List<String> args, Console console) throws IOException {
    if (args.isEmpty()) {
      throw new IllegalArgumentException("missing subcommand (build, push, pull or inspect)");
    }
    List<String> rest = args.subList(1, args.size());
    Set<String> remote = Set.of("username");
    Set<String> remoteFlags = Set.of("plain-http", "password-stdin");
    return switch (args.get(0)) {
      case "build" -> build(ImageArgs.parse(rest, Set.of("tag", "output", "file", "arg", "env", "annotation",
          "platform"), Set.of("artifact")), console);
      case "push" -> push(ImageArgs.parse(rest, remote, remoteFlags), console);
      case "pull" -> pull(ImageArgs.parse(rest, union(remote, Set.of("output")), remoteFlags), console);
      case "inspect" -> new ImageInspector(console.out()).inspect(ImageArgs.parse(rest, remote, remoteFlags), this);
      default -> throw new IllegalArgumentException("unknown image subcommand " + args.get(0));
    };
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    HashSet<String> s = new HashSet<>(a);
    s.addAll(b);
    return s;
  }

  private int build(ImageArgs a, Console console) throws IOException {
    Path module = Path.of(a.positional(0, "MODULE.wasm"));
    Map<String, Path> files = new LinkedHashMap<>();
    a.pairs("file").forEach((k, v) -> files.put(k, Path.of(v)));
    String platform = a.one("platform");
    WasmImageBuilder.Spec spec = new WasmImageBuilder.Spec(ImageReference.parse(a.required("tag")), module,
        a.flag("artifact"), files, a.all("arg"), a.all("env"), a.pairs("annotation"),
        platform == null ? null : Platform.parse(platform));
    Path out = Path.of(a.required("output"));
    Descriptor d = writeLayout(out, layout -> WasmImageBuilder.build(spec, layout));
    console.out().println("built " + spec.name() + " (" + (spec.artifact() ? "wasm artifact" : "tar-layer image")
        + ", " + spec.platform() + ") manifest " + d.digest() + " -> " + out);
    return 0;
  }

  private int push(ImageArgs a, Console console) throws IOException {
    Path src = Path.of(a.positional(0, "SRC"));
    ImageReference ref = ImageReference.parse(a.positional(1, "REF"));
    try (LocalImage local = LocalImage.open(src)) {
      Descriptor d = new ImageTransfer(client(ref, a), console.out(), RegistryClient.DEFAULT_CHUNK)
          .push(local.layout());
      console.out().println("pushed " + ref + " " + d.digest());
    }
    return 0;
  }

  private int pull(ImageArgs a, Console console) throws IOException {
    ImageReference ref = ImageReference.parse(a.positional(0, "REF"));
    Path out = Path.of(a.required("output"));
    RegistryClient client = client(ref, a);
    Descriptor d = writeLayout(out, layout -> new ImageTransfer(client, console.out(), RegistryClient.DEFAULT_CHUNK)
        .pull(layout));
    console.out().println("pulled " + ref + " " + d.digest() + " -> " + out);
    return 0;
  }

  RegistryClient client(ImageReference ref, ImageArgs a) throws IOException {
    Credentials creds = null;
    if (a.one("username") != null) {
      if (!a.flag("password-stdin")) {
        throw new IllegalArgumentException("--username needs --password-stdin (passwords are never arguments)");
      }
      byte[] pw = stdin.get().readNBytes(64 * 1024);
      creds = Credentials.of(a.one("username"), new String(pw, StandardCharsets.UTF_8).strip());
    }
    return RegistryClient.of(ref, creds, a.flag("plain-http"));
  }

  private interface LayoutWork {
    Descriptor run(OciLayout layout) throws IOException;
  }

  /** {@code OUT.tar}: built in a temp layout beside it, then tarred; anything else is a layout directory. */
  private static Descriptor writeLayout(Path out, LayoutWork work) throws IOException {
    if (!out.toString().endsWith(".tar")) {
      return work.run(OciLayout.create(out));
    }
    Path parent = out.toAbsolutePath().getParent();
    Path tmp = Files.createTempDirectory(parent, ".krill-image-");
    try {
      OciLayout layout = OciLayout.create(tmp);
      Descriptor d = work.run(layout);
      LayoutTarball.write(layout, out);
      return d;
    } finally {
      LocalImage.deleteTree(tmp);
    }
  }
}
