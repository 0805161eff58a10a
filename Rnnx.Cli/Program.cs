namespace Rnnx.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        bool interactive = !Console.IsOutputRedirected;
        return Cli.Run(args, Console.Out, Console.Error, interactive);
    }
}
