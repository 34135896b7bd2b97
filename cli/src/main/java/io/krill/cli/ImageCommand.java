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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code krill image build|push|pull|inspect}: wasm images without a container engine. */
@Command(
    name = "image",
    synopsisSubcommandLabel = "(build | push | pull | inspect)",
    usageHelpAutoWidth = true,
    description = "build, push, pull and inspect wasm OCI images",
    commandListHeading = "%nCommands:%n")
final class ImageCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin Options.Help help;

  @Override
  public Integer call() {
    throw new ParameterException(
        spec.commandLine(), "missing subcommand (build, push, pull or inspect)");
  }

  /**
   * Registry answers, digest mismatches and unsafe archives are the user's to act on: no stack
   * trace.
   */
  private interface Work {
    int run() throws IOException;
  }

  private static int refusing(Work work) {
    try {
      return work.run();
    } catch (RegistryException | IOException e) {
      throw new Console.Refusal(e.getMessage());
    }
  }

  /** {@code --plain-http}, {@code --username U --password-stdin}: how to reach a registry. */
  static final class Remote {
    @Option(names = "--plain-http", description = "speak HTTP, not HTTPS, to the registry")
    boolean plainHttp;

    @Option(
        names = "--username",
        paramLabel = "U",
        description = "log in as U (with --password-stdin)")
    String username;

    @Option(names = "--password-stdin", description = "read the password from standard input")
    boolean passwordStdin;

    RegistryClient client(ImageReference ref, Supplier<InputStream> stdin) throws IOException {
      Credentials creds = null;
      if (username != null) {
        if (!passwordStdin) {
          throw new IllegalArgumentException(
              "--username needs --password-stdin (passwords are never arguments)");
        }
        byte[] pw = stdin.get().readNBytes(64 * 1024);
        creds = Credentials.of(username, new String(pw, StandardCharsets.UTF_8).strip());
      }
      return RegistryClient.of(ref, creds, plainHttp);
    }
  }

  @Command(
      name = "build",
      sortOptions = false,
      usageHelpAutoWidth = true,
      description =
          "build a wasm image (a tar layer, or --artifact) from a module into an OCI layout or tar")
  static final class Build implements Callable<Integer> {
    private final Console console;

    @Parameters(index = "0", paramLabel = "MODULE.wasm", description = "the module")
    Path module;

    @Option(
        names = {"-t", "--tag"},
        required = true,
        paramLabel = "NAME[:TAG]",
        description = "the image name")
    String tag;

    @Option(
        names = {"-o", "--output"},
        required = true,
        paramLabel = "OUT.tar|OUTDIR",
        description = "where the OCI layout goes: a tarball if it ends in .tar, else a directory")
    Path output;

    @Option(
        names = "--artifact",
        description = "a wasm artifact (the module as its only layer), not a tar layer")
    boolean artifact;

    @Option(
        names = "--file",
        paramLabel = "PATH_IN_IMAGE=HOSTFILE",
        description = "add a file (repeatable)")
    Map<String, String> files = new LinkedHashMap<>();

    @Option(
        names = "--arg",
        paramLabel = "A",
        description = "an argument after the module (repeatable)")
    List<String> args = new ArrayList<>();

    @Option(
        names = "--env",
        paramLabel = "K=V",
        description = "an environment variable (repeatable)")
    List<String> env = new ArrayList<>();

    @Option(
        names = "--annotation",
        paramLabel = "K=V",
        description = "a manifest annotation (repeatable)")
    Map<String, String> annotations = new LinkedHashMap<>();

    @Option(
        names = "--platform",
        paramLabel = "os/arch",
        description = "the image's platform (default: wasip1/wasm)")
    String platform;

    @Mixin Options.Help help;

    Build(Console console) {
      this.console = console;
    }

    @Override
    public Integer call() {
      return refusing(
          () -> {
            Map<String, Path> paths = new LinkedHashMap<>();
            files.forEach((k, v) -> paths.put(k, Path.of(v)));
            WasmImageBuilder.Spec spec =
                new WasmImageBuilder.Spec(
                    ImageReference.parse(tag),
                    module,
                    artifact,
                    paths,
                    args,
                    env,
                    annotations,
                    platform == null ? null : Platform.parse(platform));
            Descriptor d = writeLayout(output, layout -> WasmImageBuilder.build(spec, layout));
            console
                .out()
                .println(
                    "built "
                        + spec.name()
                        + " ("
                        + (spec.artifact() ? "wasm artifact" : "tar-layer image")
                        + ", "
                        + spec.platform()
                        + ") manifest "
                        + d.digest()
                        + " -> "
                        + output);
            return 0;
          });
    }
  }

  @Command(
      name = "push",
      usageHelpAutoWidth = true,
      description = "push an OCI layout or tarball to a registry")
  static final class Push implements Callable<Integer> {
    private final Console console;
    private final Supplier<InputStream> stdin;

    @Parameters(
        index = "0",
        paramLabel = "SRC.tar|SRCDIR",
        description = "the image, as build or pull wrote it")
    Path src;

    @Parameters(
        index = "1",
        paramLabel = "REF",
        description = "where it goes: HOST[:PORT]/NAME[:TAG]")
    String ref;

    @Mixin Remote remote;

    @Mixin Options.Help help;

    Push(Console console, Supplier<InputStream> stdin) {
      this.console = console;
      this.stdin = stdin;
    }

    @Override
    public Integer call() {
      return refusing(
          () -> {
            ImageReference r = ImageReference.parse(ref);
            try (LocalImage local = LocalImage.open(src)) {
              Descriptor d =
                  new ImageTransfer(
                          remote.client(r, stdin), console.out(), RegistryClient.DEFAULT_CHUNK)
                      .push(local.layout());
              console.out().println("pushed " + r + " " + d.digest());
            }
            return 0;
          });
    }
  }

  @Command(
      name = "pull",
      usageHelpAutoWidth = true,
      description = "pull an image from a registry into an OCI layout or tar")
  static final class Pull implements Callable<Integer> {
    private final Console console;
    private final Supplier<InputStream> stdin;

    @Parameters(
        index = "0",
        paramLabel = "REF",
        description = "the image: HOST[:PORT]/NAME[:TAG|@DIGEST]")
    String ref;

    @Option(
        names = {"-o", "--output"},
        required = true,
        paramLabel = "OUT.tar|OUTDIR",
        description = "where the OCI layout goes: a tarball if it ends in .tar, else a directory")
    Path output;

    @Mixin Remote remote;

    @Mixin Options.Help help;

    Pull(Console console, Supplier<InputStream> stdin) {
      this.console = console;
      this.stdin = stdin;
    }

    @Override
    public Integer call() {
      return refusing(
          () -> {
            ImageReference r = ImageReference.parse(ref);
            RegistryClient client = remote.client(r, stdin);
            Descriptor d =
                writeLayout(
                    output,
                    layout ->
                        new ImageTransfer(client, console.out(), RegistryClient.DEFAULT_CHUNK)
                            .pull(layout));
            console.out().println("pulled " + r + " " + d.digest() + " -> " + output);
            return 0;
          });
    }
  }

  @Command(
      name = "inspect",
      usageHelpAutoWidth = true,
      description =
          "print an image's manifest, config and wasm shape, from a registry or from disk")
  static final class Inspect implements Callable<Integer> {
    private final Console console;
    private final Supplier<InputStream> stdin;

    @Parameters(
        index = "0",
        paramLabel = "REF|IMAGE.tar|DIR",
        description = "a registry reference or a local image")
    String target;

    @Mixin Remote remote;

    @Mixin Options.Help help;

    Inspect(Console console, Supplier<InputStream> stdin) {
      this.console = console;
      this.stdin = stdin;
    }

    @Override
    public Integer call() {
      return refusing(
          () ->
              new ImageInspector(console.out()).inspect(target, ref -> remote.client(ref, stdin)));
    }
  }

  private interface LayoutWork {
    Descriptor run(OciLayout layout) throws IOException;
  }

  /**
   * {@code OUT.tar}: built in a temp layout beside it, then tarred; anything else is a layout
   * directory.
   */
  static Descriptor writeLayout(Path out, LayoutWork work) throws IOException {
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
