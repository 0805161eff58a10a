using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Rnnx.Data;
using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Onnx;
using Rnnx.Optimizers;
using Rnnx.Saving;

namespace Rnnx.Cli;

/// <summary>
/// <c>rnnx train</c>, <c>rnnx forecast</c> and <c>rnnx export</c>: train a forecaster on a column of the user's CSV,
/// forecast the values that follow the column's end, and export a trained model to ONNX.
/// </summary>
internal static class SeriesCommands
{
    /// <summary>The architectures of <c>rnnx train --arch</c>.</summary>
    public static readonly string[] Architectures = ["linear", "simple_rnn", "lstm", "gru", "conv_rnn", "wavenet"];

    // Metadata saved with the model by 'train' and read by 'forecast' and 'export'.
    private const string MetaColumn = "cli.column", MetaWindow = "cli.window", MetaHorizon = "cli.horizon",
        MetaMean = "cli.mean", MetaStd = "cli.std", MetaArch = "cli.arch", MetaSource = "cli.source";

    /// <summary>Whether <paramref name="command"/> is one of these commands.</summary>
    public static bool IsCommand(string command) => command is "train" or "forecast" or "export";

    /// <summary>Runs a command; errors are <see cref="CliException"/>s with one-line messages.</summary>
    public static int Run(string command, ReadOnlySpan<string> args, TextWriter output, bool interactive)
    {
        var o = Parse(command, args);
        if (o.ContainsKey("--help"))
        {
            output.Write(Help);
            return Cli.ExitOk;
        }
        try
        {
            switch (command)
            {
                case "train": Train(o, output, interactive); break;
                case "forecast": Forecast(o, output); break;
                default: Export(o, output); break;
            }
        }
        catch (ModelFormatException e)
        {
            throw new CliException(e.Message, Cli.ExitError);
        }
        return Cli.ExitOk;
    }

    // ------------------------------------------------------------------ options

    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["train"] = ["--csv", "--column", "--arch", "--window", "--horizon", "--epochs", "--save", "--batch-size", "--validation", "--seed",
            "--learning-rate", "--patience", "--checkpoint", "--log", "--threads"],
        ["forecast"] = ["--model", "--csv", "--column", "--plot", "--json", "--window"],
        ["export"] = ["--model", "--onnx", "--no-standardization"],
    };

    private static readonly HashSet<string> Flags = ["--no-standardization", "--help"];

    private static Dictionary<string, string> Parse(string command, ReadOnlySpan<string> args)
    {
        var o = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i], name = arg;
            string? inline = null;
            int eq = arg.IndexOf('=');
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 2) (name, inline) = (arg[..eq], arg[(eq + 1)..]);
            if (name is "-h" or "--help") { o["--help"] = ""; continue; }
            if (!name.StartsWith('-')) throw new CliException($"unexpected argument '{arg}'; try 'rnnx {command} --help'");
            if (!Allowed[command].Contains(name)) throw new CliException($"unknown option '{name}' for '{command}'; try 'rnnx {command} --help'");
            if (Flags.Contains(name))
            {
                if (inline is not null) throw new CliException($"option '{name}' takes no value");
                o[name] = "";
                continue;
            }
            string value = inline ?? (i + 1 < args.Length && !(args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 2)
                ? args[++i] : throw new CliException($"option '{name}' needs a value"));
            if (string.IsNullOrWhiteSpace(value)) throw new CliException($"option '{name}' needs a non-empty value");
            o[name] = value;
        }
        return o;
    }

    private static string Required(Dictionary<string, string> o, string name, string command) =>
        o.TryGetValue(name, out var v) ? v : throw new CliException($"'{command}' needs {name}; try 'rnnx {command} --help'");

    private static int Int(Dictionary<string, string> o, string name, int fallback, int min)
    {
        if (!o.TryGetValue(name, out var s)) return fallback;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n)) throw new CliException($"option '{name}' expects an integer, got '{s}'");
        if (n < min) throw new CliException($"option '{name}' must be at least {min}, got {n}");
        return n;
    }

    private static double Real(Dictionary<string, string> o, string name, double fallback, double min, double max)
    {
        if (!o.TryGetValue(name, out var s)) return fallback;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            throw new CliException($"option '{name}' expects a number, got '{s}'");
        if (v < min || v > max) throw new CliException($"option '{name}' must be between {min} and {max}, got {s}");
        return v;
    }

    private static void CheckWritable(string option, string path)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null && !Directory.Exists(dir)) throw new CliException($"cannot write {option} '{path}': the folder '{dir}' does not exist", Cli.ExitError);
    }

    // ------------------------------------------------------------------ train

    /// <summary>The forecaster of an architecture name: (window, 1) inputs → (horizon) outputs.</summary>
    public static Sequential CreateModel(string arch, int window, int horizon, int seed)
    {
        Layer[] layers = arch switch
        {
            "linear" => [new Flatten(inputShape: [window, 1]), new Dense(horizon)],
            "simple_rnn" => [new SimpleRNN(20, returnSequences: true, inputShape: [null, 1]), new SimpleRNN(20), new Dense(horizon)],
            "lstm" => [new LSTM(20, returnSequences: true, inputShape: [null, 1]), new LSTM(20), new Dense(horizon)],
            "gru" => [new GRU(20, returnSequences: true, inputShape: [null, 1]), new GRU(20), new Dense(horizon)],
            "conv_rnn" => [new Conv1D(20, 4, strides: 2, padding: "valid", inputShape: [null, 1]), new GRU(20, returnSequences: true), new GRU(20), new Dense(horizon)],
            "wavenet" => WaveNet(window, horizon),
            _ => throw new CliException($"unknown --arch '{arch}'; architectures: {string.Join(", ", Architectures)}"),
        };
        return new Sequential(layers, arch, seed);
    }

    private static Layer[] WaveNet(int window, int horizon)
    {
        // The chapter's causal dilated stack, read out by a dense layer over the whole window.
        var layers = new List<Layer> { new InputLayer([window, 1]) };
        foreach (int rate in new[] { 1, 2, 4, 8, 1, 2, 4, 8 }) layers.Add(new Conv1D(20, 2, padding: "causal", activation: "relu", dilationRate: rate));
        layers.Add(new Conv1D(10, 1));
        layers.Add(new Flatten());
        layers.Add(new Dense(horizon));
        return [.. layers];
    }

    private static void Train(Dictionary<string, string> o, TextWriter output, bool interactive)
    {
        string csv = Required(o, "--csv", "train"), column = Required(o, "--column", "train"), save = Required(o, "--save", "train");
        string arch = o.GetValueOrDefault("--arch", "lstm");
        if (!Architectures.Contains(arch)) throw new CliException($"unknown --arch '{arch}'; architectures: {string.Join(", ", Architectures)}");
        int window = Int(o, "--window", 50, 1), horizon = Int(o, "--horizon", 10, 1), epochs = Int(o, "--epochs", 10, 1);
        int batch = Int(o, "--batch-size", 32, 1), seed = Int(o, "--seed", 42, 0), threads = Int(o, "--threads", Math.Min(2, Environment.ProcessorCount), 1);
        double validation = Real(o, "--validation", 0.2, 0.01, 0.9), lr = Real(o, "--learning-rate", 0.001, 1e-12, 10);
        int? patience = o.ContainsKey("--patience") ? Int(o, "--patience", 0, 0) : null;
        if (arch == "conv_rnn" && window < 4) throw new CliException("--arch conv_rnn needs --window of at least 4 (its first convolution spans 4 steps)");
        CheckWritable("--save", save);
        if (o.TryGetValue("--log", out var log)) CheckWritable("--log", log);

        var series = SeriesCsv.ReadColumn(csv, column);
        int trainCount = series.Length - (int)Math.Round(series.Length * validation);
        if (trainCount < window + horizon || series.Length - trainCount < horizon)
            throw new CliException(
                $"{Path.GetFileName(csv)}: column '{column}' has {series.Length} values; --window {window} and --horizon {horizon} with {validation:P0} kept for validation " +
                $"need at least {Windowing.MinimumLength(window, horizon, validation)} rows", Cli.ExitError);
        var (mean, std) = Windowing.Statistics(series.AsSpan(0, trainCount));   // statistics of the training part only
        var scaled = series.Select(v => (float)((v - mean) / std)).ToArray();
        var (train, valid) = Windowing.MakeSplit(scaled, window, horizon, validation);

        var model = CreateModel(arch, window, horizon, seed);
        model.Threads = threads;
        model.Compile(new Nadam(lr), Losses.Loss.MeanSquaredError);
        var x = Tensor.FromArray(train.X, train.XShape);
        var y = Tensor.FromArray(train.Y, train.YShape);
        var xv = Tensor.FromArray(valid.X, valid.XShape);
        var yv = Tensor.FromArray(valid.Y, valid.YShape);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Training {arch} on column '{column}' of {Path.GetFileName(csv)}: {series.Length} values, {train.Count} training and {valid.Count} validation windows of {window} -> {horizon}"));
        var callbacks = new List<Callback> { new ProgressCallback(output, interactive ? ProgressMode.Live : ProgressMode.Lines) };
        if (patience is int p) callbacks.Add(new EarlyStopping(patience: p, restoreBestWeights: true));
        if (o.TryGetValue("--checkpoint", out var ck)) callbacks.Add(new ModelCheckpoint(ck));
        if (log is not null) callbacks.Add(new CSVLogger(log));
        var history = model.Fit(x, y, epochs, batch, validationData: (xv, yv), callbacks: callbacks, verbose: 0);

        double valMse = model.Evaluate(xv, yv, batch)["loss"];
        var meta = new Dictionary<string, string>
        {
            [MetaColumn] = column,
            [MetaWindow] = window.ToString(CultureInfo.InvariantCulture),
            [MetaHorizon] = horizon.ToString(CultureInfo.InvariantCulture),
            [MetaMean] = mean.ToString("R", CultureInfo.InvariantCulture),
            [MetaStd] = std.ToString("R", CultureInfo.InvariantCulture),
            [MetaArch] = arch,
            [MetaSource] = Path.GetFileName(csv),
        };
        model.Save(save, new SaveOptions { Epoch = history.Epochs, Metadata = meta });
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Saved {save} ({model.CountParams()} parameters, {history.Epochs} epochs{(history.StopReason is { } r ? ", " + r : "")}): validation MSE {valMse:G5} on standardized values, RMSE {Math.Sqrt(valMse) * std:G5} in '{column}' units"));
    }

    // ------------------------------------------------------------------ forecast

    private static (int Window, int Horizon, double Mean, double Std, string? Column) ReadMeta(ModelFileInfo info, Sequential model, Dictionary<string, string> o)
    {
        var m = info.Metadata;
        int? window = m.TryGetValue(MetaWindow, out var w) && int.TryParse(w, NumberStyles.Integer, CultureInfo.InvariantCulture, out int wi) ? wi : null;
        if (o.ContainsKey("--window")) window = Int(o, "--window", 1, 1);
        window ??= model.InputShape is [int fixedLength, ..] ? fixedLength : null;
        if (window is null) throw new CliException("the model does not say its window (it was not trained by 'rnnx train'); pass --window N");
        double mean = m.TryGetValue(MetaMean, out var ms) && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out double mv) ? mv : 0;
        double std = m.TryGetValue(MetaStd, out var ss) && double.TryParse(ss, NumberStyles.Float, CultureInfo.InvariantCulture, out double sv) && sv > 0 ? sv : 1;
        int horizon = m.TryGetValue(MetaHorizon, out var h) && int.TryParse(h, NumberStyles.Integer, CultureInfo.InvariantCulture, out int hi) ? hi : 0;
        return (window.Value, horizon, mean, std, m.GetValueOrDefault(MetaColumn));
    }

    private static void Forecast(Dictionary<string, string> o, TextWriter output)
    {
        string modelPath = Required(o, "--model", "forecast"), csv = Required(o, "--csv", "forecast");
        if (!File.Exists(modelPath)) throw new CliException($"{modelPath}: no such file", Cli.ExitError);
        if (o.TryGetValue("--plot", out var plot)) CheckWritable("--plot", plot);
        if (o.TryGetValue("--json", out var json)) CheckWritable("--json", json);
        var info = ModelIO.Inspect(modelPath);
        var model = ModelIO.Load(modelPath, compile: false);
        var (window, _, mean, std, savedColumn) = ReadMeta(info, model, o);
        string column = o.GetValueOrDefault("--column") ?? savedColumn ?? throw new CliException("'forecast' needs --column (the model does not name one)");
        var series = SeriesCsv.ReadColumn(csv, column);
        if (series.Length < window)
            throw new CliException($"{Path.GetFileName(csv)}: column '{column}' has {series.Length} values; the model reads the last {window} (its window), so it needs at least {window} rows", Cli.ExitError);
        var last = series[^window..].Select(v => (float)((v - mean) / std)).ToArray();
        var pred = model.Predict(Tensor.FromArray(last, 1, window, 1));
        var flat = pred.ToFloatArray();
        int k = pred.Shape.Last;   // a sequence output: its last step
        var forecast = flat[^k..].Select(v => (float)(v * std + mean)).ToArray();

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Forecast of '{column}' after row {series.Length + 1} ({series.Length} values), {forecast.Length} step(s) ahead:"));
        for (int i = 0; i < forecast.Length; i++)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  t+{i + 1}: {forecast[i]:G7}"));
        if (plot is not null)
        {
            ForecastPlot.Save(plot, $"{column}: {forecast.Length}-step forecast ({info.Metadata.GetValueOrDefault(MetaArch) ?? model.Name})", series, forecast, 4 * window);
            output.WriteLine($"Wrote {plot}");
        }
        if (json is not null)
        {
            var doc = new JsonObject
            {
                ["model"] = Path.GetFileName(modelPath),
                ["csv"] = Path.GetFileName(csv),
                ["column"] = column,
                ["rows"] = series.Length,
                ["window"] = window,
                ["horizon"] = forecast.Length,
                ["forecast"] = new JsonArray(forecast.Select(v => (JsonNode?)JsonValue.Create((double)v)).ToArray()),
            };
            File.WriteAllText(json, doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            output.WriteLine($"Wrote {json}");
        }
    }

    // ------------------------------------------------------------------ export

    private static void Export(Dictionary<string, string> o, TextWriter output)
    {
        string modelPath = Required(o, "--model", "export"), onnx = Required(o, "--onnx", "export");
        if (!File.Exists(modelPath)) throw new CliException($"{modelPath}: no such file", Cli.ExitError);
        CheckWritable("--onnx", onnx);
        var info = ModelIO.Inspect(modelPath);
        var model = ModelIO.Load(modelPath, compile: false);
        var options = new OnnxExportOptions();
        bool standardize = !o.ContainsKey("--no-standardization") && info.Metadata.ContainsKey(MetaMean);
        if (standardize)
        {
            var (_, _, mean, std, _) = ReadMeta(info, model, []);
            options.Standardization = (mean, std);
        }
        try
        {
            OnnxExporter.Export(model, onnx, options);
        }
        catch (NotSupportedException e)
        {
            throw new CliException(e.Message, Cli.ExitError);
        }
        string inShape = "(batch, " + string.Join(", ", model.InputShape!.Select(d => d?.ToString(CultureInfo.InvariantCulture) ?? "steps")) + ")";
        string outShape = "(batch, " + string.Join(", ", model.OutputShape!.Select(d => d?.ToString(CultureInfo.InvariantCulture) ?? "steps")) + ")";
        output.WriteLine($"Wrote {onnx}: input 'input' {inShape} float32 -> output 'output' {outShape}" +
            (standardize ? " (raw values in and out: the graph standardizes with the training statistics)" : ""));
    }

    /// <summary>Help of the three commands.</summary>
    public static string Help { get; } = $$"""
        rnnx train --csv FILE --column NAME --save MODEL.rnnx [options]
          Trains a forecaster on one column of a CSV file (header row; comma, semicolon or tab separated).
          The series is standardized with the training part's mean and std, windowed (--window inputs ->
          --horizon targets) and split in time order (the last --validation share for validation).
            --arch NAME          {{string.Join(", ", Architectures)}} (default lstm)
            --window N           input steps (default 50)
            --horizon N          steps forecast at once (default 10)
            --epochs N           (default 10)
            --batch-size N       (default 32)
            --validation F       share of the series for validation (default 0.2)
            --learning-rate F    Nadam's learning rate (default 0.001)
            --patience N         stop after N epochs without val_loss improvement, keeping the best weights
            --checkpoint PATTERN a checkpoint per epoch, e.g. ckpt/model-{epoch:02d}.rnnx
            --log FILE.csv       per-epoch loss and val_loss
            --seed N             initial weights and shuffles (default 42)

        rnnx forecast --model MODEL.rnnx --csv FILE [--column NAME] [--plot FILE.png] [--json FILE]
          Forecasts the steps after the column's last row from its last --window values
          (--column defaults to the column the model was trained on).

        rnnx export --model MODEL.rnnx --onnx FILE.onnx [--no-standardization]
          Exports to ONNX (opset 17). A model trained by 'rnnx train' takes and returns raw values
          (the standardization is part of the graph) unless --no-standardization.

        """.Replace("\r\n", "\n", StringComparison.Ordinal);
}
