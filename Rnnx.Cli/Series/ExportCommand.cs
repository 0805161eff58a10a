using System.Globalization;
using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Cli;

/// <summary><c>rnnx export</c>: a saved model to ONNX, with the model's transform and window scaling (and their inverses) in the graph.</summary>
internal static class ExportCommand
{
    private static string Describe(ModelMetadata meta) =>
        (meta.Transform.Kind == Rnnx.Data.SeriesTransformKind.None ? "" : meta.Transform + " transform and ") + Rnnx.Data.SeriesScaler.NameOf(meta.Scaling) + " scaling";

    /// <summary>Runs the command; every problem is a one-line <see cref="CliException"/>, raised before any file is written.</summary>
    public static void Run(ExportOptions o, TextWriter output, TextWriter error)
    {
        var guard = new PathGuard();
        guard.Input("--model", o.Model);
        guard.Output("--onnx", o.Onnx);
        var info = ModelIO.Inspect(o.Model);
        var meta = ModelMetadata.Read(info.Metadata, o.Model);
        var model = ModelIO.Load(o.Model, compile: false);
        var options = new OnnxExportOptions();
        bool scaled = !o.NoStandardization && meta is not null;
        if (scaled)
        {
            options.Scaler = meta!.Scaler;
            options.Transform = meta.Transform;
        }
        if (meta is null && !o.NoStandardization)
            Cli.Warn(error, $"{Path.GetFileName(o.Model)} has no 'rnnx train' metadata: the graph takes and returns the model's own (unscaled) values");
        try
        {
            OnnxExporter.Export(model, o.Onnx, options);
        }
        catch (NotSupportedException e)
        {
            throw new CliException(e.Message, Cli.ExitError);
        }
        int lookback = scaled ? options.Scaler!.Lookback : 0;
        string inShape = "(batch, " + string.Join(", ", model.InputShape!.Select((d, i) => i == 0 && lookback > 0
            ? (d is int steps ? (steps + lookback).ToString(CultureInfo.InvariantCulture) : "steps + 1")
            : d?.ToString(CultureInfo.InvariantCulture) ?? "steps")) + ")";
        string outShape = "(batch, " + string.Join(", ", model.OutputShape!.Select(d => d?.ToString(CultureInfo.InvariantCulture) ?? "steps")) + ")";
        output.WriteLine($"Wrote {o.Onnx}: input 'input' {inShape} float32 -> output 'output' {outShape}" +
            (scaled ? $" (raw values in and out: the graph applies the {Describe(meta!)} of training{(lookback > 0 ? "; the window holds one value more, before the inputs" : "")})" : ""));
    }
}
