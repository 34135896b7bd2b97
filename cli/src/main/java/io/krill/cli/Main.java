package io.krill.cli;

import io.krill.cri.CriMain;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * {@code krill COMMAND [options]}: the composition root of the command-line tool, one picocli
 * command tree. Every subcommand (the two daemons' included) is a command here, so {@code krill
 * help} lists them all and {@code --help} works everywhere. Exit codes: 0 done, 1 refused or
 * failed, 2 usage error.
 */
public final class Main {
  private final Supplier<InputStream> stdin;

  Main(Supplier<InputStream> stdin) {
    this.stdin = stdin;
  }

  static Main standard() {
    return new Main(() -> System.in);
  }

  public static void main(String[] args) {
    String home = System.getProperty("krill.home", ".");
    Console console =
        new Console(
            System.out, System.err, System.getenv(), Path.of(home).toAbsolutePath().normalize());
    System.exit(standard().run(List.of(args), console));
  }

  @Command(
      name = "krill",
      synopsisSubcommandLabel = "COMMAND",
      usageHelpAutoWidth = true,
      description = "A WebAssembly runtime for containerd and Kubernetes.",
      commandListHeading = "%nCommands:%n",
      footer = {"", "krill COMMAND --help (or krill help COMMAND) shows a command's options."})
  static final class Root implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
        names = {"-h", "--help"},
        usageHelp = true,
        description = "show this help and exit")
    boolean help;

    /** {@code krill} alone: the command list, and a usage error. */
    @Override
    public Integer call() {
      spec.commandLine().usage(spec.commandLine().getOut());
      return 2;
    }
  }

  /** The command tree for one run, printing to {@code console}. */
  CommandLine commandLine(Console console) {
    CommandLine cl = configure(fullTree(console), console);
    // ... except in krill image, where a repeated single option (-t, -o) is refused.
    cl.getSubcommands().get("image").setOverwrittenOptionsAllowed(false);
    return cl;
  }

  /**
   * {@code krill cri ...}: the root with {@code cri} alone. The same command, parsed, helped and
   * failed the same way, without building every other command by reflection first, which is most of
   * a second of the CRI daemon's start.
   */
  CommandLine criCommandLine(Console console) {
    return configure(new CommandLine(new Root()).addSubcommand(new CriMain()), console);
  }

  private CommandLine fullTree(Console console) {
    CommandLine image =
        new CommandLine(new ImageCommand())
            .addSubcommand(new ImageCommand.Build(console))
            .addSubcommand(new ImageCommand.Push(console, stdin))
            .addSubcommand(new ImageCommand.Pull(console, stdin))
            .addSubcommand(new ImageCommand.Inspect(console, stdin));
    return new CommandLine(new Root())
        .addSubcommand(new InstallCommand(console))
        .addSubcommand(new UninstallCommand(console))
        .addSubcommand(new VersionCommand(console))
        .addSubcommand(new DoctorCommand(console))
        .addSubcommand(image)
        .addSubcommand(new DaemonCommand(console))
        .addSubcommand(new CriMain())
        .addSubcommand(new HelpCommand());
  }

  private static CommandLine configure(CommandLine cl, Console console) {
    // As before picocli: an option's value is the next argument, whatever it looks like (--arg
    // --verbose).
    cl.setAllowOptionsAsOptionParameters(true);
    // As before: a later --name value wins (a unit's ExecStart plus overrides).
    cl.setOverwrittenOptionsAllowed(true);
    cl.setOut(new PrintWriter(console.out(), true));
    cl.setErr(new PrintWriter(console.err(), true));
    cl.setParameterExceptionHandler(Main::usageError);
    cl.setExecutionExceptionHandler((e, c, parsed) -> failure(e, c));
    return cl;
  }

  int run(List<String> args, Console console) {
    CommandLine cl =
        !args.isEmpty() && args.get(0).equals("cri")
            ? criCommandLine(console)
            : commandLine(console);
    return cl.execute(args.toArray(String[]::new));
  }

  private static int usageError(ParameterException e, String[] args) {
    CommandLine c = e.getCommandLine();
    PrintWriter err = c.getErr();
    if (e instanceof UnmatchedArgumentException u
        && c.getParent() == null
        && !u.getUnmatched().isEmpty()
        && !u.getUnmatched().get(0).startsWith("-")) {
      err.println("krill: unknown command " + u.getUnmatched().get(0) + " (see krill help)");
      return 2;
    }
    err.println(c.getCommandSpec().qualifiedName() + ": " + e.getMessage());
    printSynopsis(c, err);
    return 2;
  }

  private static void printSynopsis(CommandLine c, PrintWriter err) {
    err.print("Usage: " + c.getHelp().synopsis(0));
    err.println(c.getCommandSpec().qualifiedName() + " --help shows every option.");
    err.flush();
  }

  private static int failure(Exception e, CommandLine c) {
    PrintWriter err = c.getErr();
    String name = c.getCommandSpec().qualifiedName();
    if (e instanceof Console.Refusal) {
      err.println(name + ": " + e.getMessage());
      err.flush();
      return 1;
    }
    if (e instanceof IllegalArgumentException) {
      err.println(name + ": " + e.getMessage());
      printSynopsis(c, err);
      return 2;
    }
    err.println(name + ": failed: " + e);
    if (c.getCommand() instanceof CriMain) {
      // A daemon that cannot start: the operator needs where.
      e.printStackTrace(err);
    }
    err.flush();
    return 1;
  }
}
