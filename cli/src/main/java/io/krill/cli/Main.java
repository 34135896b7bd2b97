package io.krill.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code krill SUBCOMMAND [options]}: the composition root of the command-line tool. */
public final class Main {
  private final Map<String, Command> commands = new LinkedHashMap<>();

  Main(List<Command> all) {
    all.forEach(c -> commands.put(c.name(), c));
  }

  static Main standard() {
    return new Main(List.of(new InstallCommand(), new UninstallCommand(), new VersionCommand(), new DoctorCommand(),
        new ImageCommand(), new DaemonCommand()));
  }

  public static void main(String[] args) {
    String home = System.getProperty("krill.home", ".");
    Console console = new Console(System.out, System.err, System.getenv(), Path.of(home).toAbsolutePath().normalize());
    System.exit(standard().run(List.of(args), console));
  }

  Map<String, Command> commands() {
    return commands;
  }

  int run(List<String> args, Console console) {
    if (args.isEmpty() || List.of("help", "-h", "--help").contains(args.get(0))) {
      help(console);
      return args.isEmpty() ? 2 : 0;
    }
    Command c = commands.get(args.get(0));
    if (c == null) {
      console.err().println("krill: unknown command " + args.get(0) + " (see krill help)");
      return 2;
    }
    List<String> rest = args.subList(1, args.size());
    if (rest.contains("--help") || rest.contains("-h")) {
      console.out().println("usage: krill " + c.name() + " " + c.usage());
      return 0;
    }
    try {
      return c.run(rest, console);
    } catch (IllegalArgumentException e) {
      console.err().println("krill " + c.name() + ": " + e.getMessage());
      console.err().println("usage: krill " + c.name() + " " + c.usage());
      return 2;
    } catch (Console.Refusal e) {
      console.err().println("krill " + c.name() + ": " + e.getMessage());
      return 1;
    } catch (Exception e) {
      console.err().println("krill " + c.name() + ": failed: " + e);
      return 1;
    }
  }

  private void help(Console console) {
    console.out().println("usage: krill COMMAND [options]\n");
    commands.values().forEach(c -> console.out().printf("  %-10s %s%n", c.name(), c.summary()));
    console.out().println("\nkrill COMMAND --help shows a command's options.");
  }
}
