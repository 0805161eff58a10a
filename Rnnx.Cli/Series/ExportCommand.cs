using System.Globalization;
using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Cli;

/// <summary><c>rnnx export</c>: a saved model to ONNX, with the model's standardization in the graph.</summary>
internal static class ExportCommand
{
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
        if (!o.NoStandardization && meta is not null && meta.Scaling != Rnnx.Data.SeriesScaling.Standard)
            throw new CliException($"{Path.GetFileName(o.Model)} was trained with {Rnnx.Data.SeriesScaler.NameOf(meta.Scaling)} scaling, which is per window and cannot be part of the graph; " +
                "pass --no-standardization and scale each window as docs/forecasting.md describes (or train with --scaling standard)");
        bool standardize = !o.NoStandardization && meta is not null;
        if (standardize) options.Standardization = (meta!.Mean, meta.Std);
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
        string inShape = "(batch, " + string.Join(", ", model.InputShape!.Select(d => d?.ToString(CultureInfo.InvariantCulture) ?? "steps")) + ")";
        string outShape = "(batch, " + string.Join(", ", model.OutputShape!.Select(d => d?.ToString(CultureInfo.InvariantCulture) ?? "steps")) + ")";
        output.WriteLine($"Wrote {o.Onnx}: input 'input' {inShape} float32 -> output 'output' {outShape}" +
            (standardize ? " (raw values in and out: the graph standardizes with the training statistics)" : ""));
    }
}
