namespace Rnnx.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        LNSimpleRNNCell.Register();   // so that `rnnx forecast/export --model` loads models built with the chapter's cell
        bool interactive = !Console.IsOutputRedirected;
        return Cli.Run(args, Console.Out, Console.Error, interactive);
    }
}
