using System.CommandLine;
using Rnnx.Data;

namespace Rnnx.Cli;

/// <summary>
/// The whole <c>rnnx</c> command line as one System.CommandLine tree: commands, options, generated help and
/// completions (the <c>[suggest]</c> directive, used by <c>dotnet-suggest</c>). Each command's action only turns
/// the parse result into a plain options record and calls the command's function.
/// </summary>
internal static class RnnxCommandLine
{
    /// <summary>The architectures of <c>rnnx train --arch</c>.</summary>
    public static readonly string[] Architectures = [.. Rnnx.Forecasting.ForecastModels.Architectures];

    /// <summary>Builds the command tree; the actions write to <paramref name="output"/> and <paramref name="error"/>.</summary>
    /// <param name="output">Normal output.</param>
    /// <param name="error">Warnings.</param>
    /// <param name="interactive">Whether the output is a terminal.</param>
    /// <param name="runChapter">Runs <c>chapter</c> with its parsed options (default: <see cref="ChapterRunner.Run"/>).</param>
    public static RootCommand Create(TextWriter output, TextWriter error, bool interactive, Action<ChapterOptions>? runChapter = null)
    {
        var root = new RootCommand("rnnx - the Hands-On ML chapter 15 notebook (RNNs and CNNs on time series) on the Rnnx engine, "
            + "and forecasters trained on a column of your own CSV file.");
        root.SetAction((Func<ParseResult, int>)(_ => throw new CliException("missing command; try 'rnnx --help'")));
        root.Subcommands.Add(Chapter(interactive, runChapter ?? (o => ChapterRunner.Run(o, output))));
        root.Subcommands.Add(Train(output, error, interactive));
        root.Subcommands.Add(Forecast(output, error));
        root.Subcommands.Add(Evaluate(output, error));
        root.Subcommands.Add(Export(output, error));
        return root;
    }

    private static Command Chapter(bool interactive, Action<ChapterOptions> run)
    {
        var only = new Option<string[]?>("--only")
        {
            Description = $"Train only these models (comma-separated; the naive baseline always runs): {string.Join(", ", ChapterModels.Names)}; " +
                $"beyond the notebook, run only when named: {string.Join(", ", ChapterModels.Extras.Select(m => m.Name))}",
            HelpName = "a,b",
            CustomParser = r =>
            {
                var names = r.Tokens[0].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (names.Length == 0) r.AddError("option '--only' needs at least one model name");
                foreach (var n in names)
                    if (!ChapterModels.AllNames.Contains(n))
                    {
                        r.AddError($"unknown model '{CliOptions.Short(n)}' in --only; models: {string.Join(", ", ChapterModels.AllNames)}");
                        break;
                    }
                return names.Distinct().ToArray();
            },
        };
        only.CompletionSources.Add(ChapterModels.AllNames.ToArray());
        var epochs = CliOptions.Int("--epochs", "Train every model for N epochs instead of the notebook's (20 linear, 13 s2s_rnn, 10 others)", 1, Limits.MaxEpochs);
        var seed = CliOptions.Int("--seed", "Seed of the models' initial weights and shuffles (default 42)", 0, int.MaxValue);
        var outDir = CliOptions.Text("--out", "Folder for the PNG plots (default out)", "DIR");
        var noPlots = CliOptions.Flag("--no-plots", "Do not write plots");
        var json = CliOptions.Text("--json", "Also write the results as JSON", "FILE");
        var threads = CliOptions.Int("--threads", "Training threads per model (default: up to 2; results do not depend on it)", 1, Limits.MaxThreads);
        var nadam = CliOptions.Choice("--nadam", "Nadam momentum schedule: keras3 (default) or legacy (tf.keras 2.x, 0.004 factor)", ["keras3", "legacy"]);
        var command = new Command("chapter", "Train the chapter's models in the notebook's order, print a table, write plots")
        {
            only, epochs, seed, outDir, noPlots, json, threads, nadam,
        };
        command.SetAction(p =>
        {
            var defaults = new ChapterOptions();
            var options = new ChapterOptions
            {
                Only = p.GetResult(only) is null ? null : p.GetValue(only),
                Epochs = p.GetValue(epochs),
                Seed = p.GetValue(seed) ?? defaults.Seed,
                OutputDirectory = p.GetValue(outDir) ?? defaults.OutputDirectory,
                Plots = !p.GetValue(noPlots),
                JsonPath = p.GetValue(json),
                Threads = p.GetValue(threads),
                NadamSchedule = p.GetValue(nadam) == "legacy" ? Rnnx.Optimizers.NadamSchedule.Legacy : Rnnx.Optimizers.NadamSchedule.Keras3,
                Progress = interactive ? ProgressMode.Live : ProgressMode.Lines,
            };
            run(options);
            return Cli.ExitOk;
        });
        return command;
    }

    // Options that read a series, shared by train, forecast and evaluate.
    private sealed class SourceOptions
    {
        public Option<string?> Csv { get; } = CliOptions.Text("--csv", "The CSV file (comma, semicolon or tab separated)", "FILE", required: true);
        public Option<string?> Column { get; } = CliOptions.Text("--column", "The value column: a header name, or a 1-based index with --no-header", "NAME");
        public Option<string?> DateColumn { get; } = CliOptions.Text("--date-column", "A column of dates (ISO 8601): frequency inferred, forecasts dated", "NAME");
        public Option<string?> Fill { get; } = CliOptions.Choice("--fill", "Empty cells and missing dates: previous value, linear interpolation, or none (an error; default)", ["previous", "linear", "none"]);
        public Option<bool> NoHeader { get; } = CliOptions.Flag("--no-header", "The file has no header row: columns are named by 1-based index");

        public void AddTo(Command c)
        {
            c.Options.Add(Csv);
            c.Options.Add(Column);
            c.Options.Add(DateColumn);
            c.Options.Add(Fill);
            c.Options.Add(NoHeader);
        }

        public SeriesSource Bind(ParseResult p) => new(
            p.GetValue(Csv)!,
            p.GetValue(Column),
            p.GetValue(DateColumn),
            p.GetValue(Fill) switch
            {
                "previous" => FillMode.Previous,
                "linear" => FillMode.Linear,
                _ => FillMode.None,
            },
            p.GetValue(NoHeader));
    }

    private static Command Train(TextWriter output, TextWriter error, bool interactive)
    {
        var src = new SourceOptions();
        var save = CliOptions.Text("--save", "Where the trained model is saved (.rnnx)", "MODEL", required: true);
        var arch = CliOptions.Choice("--arch", $"Architecture (default {TrainOptions.DefaultArch})", Architectures);
        var window = CliOptions.Int("--window", $"Input steps (default {TrainOptions.DefaultWindow})", 1, Limits.MaxWindow);
        var horizon = CliOptions.Int("--horizon", $"Steps forecast at once (default {TrainOptions.DefaultHorizon})", 1, Limits.MaxHorizon);
        var epochs = CliOptions.Int("--epochs", $"Epochs at most (default {TrainOptions.DefaultEpochs}; early stopping usually ends sooner; with --resume, the epoch to stop at)", 1, Limits.MaxEpochs);
        var batch = CliOptions.Int("--batch-size", $"Batch size (default {TrainOptions.DefaultBatchSize})", 1, Limits.MaxBatchSize);
        var validation = CliOptions.Real("--validation", "Share of the series kept for validation (default 0.2)", 0.01, 0.9);
        var lr = CliOptions.Real("--learning-rate", "Nadam's learning rate (default 0.001)", 1e-12, 10);
        var patience = CliOptions.Int("--patience", $"Stop after N epochs without val_loss improvement, keeping the best weights (default {TrainOptions.DefaultPatience})", 0, Limits.MaxPatience);
        var noEarlyStopping = CliOptions.Flag("--no-early-stopping", "Train all --epochs, without early stopping");
        var transform = CliOptions.Choice("--transform", "Transform of the values before scaling, inverted on forecasts: none (default), log, or box-cox "
            + "(for a season whose amplitude grows with the level; positive values only)", ["none", "log", "box-cox"]);
        var lambda = CliOptions.Real("--box-cox-lambda", "Box-Cox's lambda with --transform box-cox (default: estimated on the training part by maximum likelihood)",
            SeriesTransform.MinLambda, SeriesTransform.MaxLambda, "L");
        var checkpoint = CliOptions.Text("--checkpoint", "A checkpoint per epoch, e.g. ckpt/model-{epoch:02d}.rnnx", "PATTERN");
        var log = CliOptions.Text("--log", "Per-epoch loss and val_loss (CSV)", "FILE");
        var seed = CliOptions.Int("--seed", $"Initial weights and shuffles (default {TrainOptions.DefaultSeed})", 0, int.MaxValue);
        var threads = CliOptions.Int("--threads", "Training threads (default: up to 2; results do not depend on it)", 1, Limits.MaxThreads);
        var resume = CliOptions.Text("--resume", "Continue bit-exactly from a checkpoint written by --checkpoint", "CHECKPOINT");
        var test = CliOptions.Real("--test", "Share of the series, at its end, kept for the final test report (default 0.2)", 0.01, 0.9);
        var scaling = CliOptions.Choice("--scaling", "Scaling: last_value (default; survives trends), window_mean, difference, or standard (breaks on trends)",
            ["last_value", "window_mean", "difference", "standard"]);
        var season = CliOptions.Int("--season", "Season of the seasonal-naive baseline (default: detected from the training part)", 1, Limits.MaxWindow);
        var command = new Command("train", "Train a forecaster on a column of a CSV file and save it (.rnnx). The series is split in time order "
            + "(training, the --validation share for early stopping, the last --test share for the final report), scaled with statistics of the training "
            + "part only, and cut into windows (--window inputs -> --horizon targets) on the fly. The report compares the test errors with the naive "
            + "and seasonal-naive baselines.");
        src.AddTo(command);
        foreach (var o in new Option[] { save, arch, window, horizon, epochs, batch, validation, test, scaling, transform, lambda, season, lr, patience, noEarlyStopping, checkpoint, log, seed, threads, resume })
            command.Options.Add(o);
        command.SetAction(p =>
        {
            TrainCommand.Run(new TrainOptions
            {
                Source = src.Bind(p),
                Save = p.GetValue(save)!,
                Arch = p.GetValue(arch),
                Window = p.GetValue(window),
                Horizon = p.GetValue(horizon),
                Epochs = p.GetValue(epochs),
                BatchSize = p.GetValue(batch),
                Validation = p.GetValue(validation),
                Test = p.GetValue(test),
                Scaling = p.GetValue(scaling) is { } sc ? SeriesScaler.Parse(sc) : null,
                Season = p.GetValue(season),
                LearningRate = p.GetValue(lr),
                Patience = p.GetValue(patience),
                NoEarlyStopping = p.GetValue(noEarlyStopping),
                Transform = p.GetValue(transform) is { } tr ? SeriesTransform.ParseKind(tr) : null,
                Lambda = p.GetValue(lambda),
                Checkpoint = p.GetValue(checkpoint),
                Log = p.GetValue(log),
                Seed = p.GetValue(seed),
                Threads = p.GetValue(threads),
                Resume = p.GetValue(resume),
                Interactive = interactive,
            }, output, error);
            return Cli.ExitOk;
        });
        return command;
    }

    // The saved model that forecast and evaluate apply.
    private static Option<string?> TrainedModel() => CliOptions.Text("--model", "The model (.rnnx) written by 'rnnx train'", "MODEL", required: true);

    private static Command Forecast(TextWriter output, TextWriter error)
    {
        var src = new SourceOptions();
        var model = TrainedModel();
        var plot = CliOptions.Text("--plot", "Also plot the recent history and the forecast (PNG)", "FILE");
        var json = CliOptions.Text("--json", "Also write the forecast as JSON", "FILE");
        var window = CliOptions.Int("--window", "Input steps, for a model that does not record its window", 1, Limits.MaxWindow);
        var command = new Command("forecast", "Forecast the steps after the end of a CSV column with a saved model "
            + "(--column and --date-column default to the model's).");
        command.Options.Add(model);
        src.AddTo(command);
        command.Options.Add(plot);
        command.Options.Add(json);
        command.Options.Add(window);
        command.SetAction(p =>
        {
            ForecastCommand.Run(new ForecastOptions
            {
                Model = p.GetValue(model)!,
                Source = src.Bind(p),
                Plot = p.GetValue(plot),
                Json = p.GetValue(json),
                Window = p.GetValue(window),
            }, output, error);
            return Cli.ExitOk;
        });
        return command;
    }

    private static Command Evaluate(TextWriter output, TextWriter error)
    {
        var src = new SourceOptions();
        var model = TrainedModel();
        var json = CliOptions.Text("--json", "Also write the report as JSON", "FILE");
        var season = CliOptions.Int("--season", "Season of the seasonal-naive baseline (default: the one training used)", 1, Limits.MaxWindow);
        var command = new Command("evaluate", "Errors (MSE, MAE, MASE) of a saved model on the test part of a series (the split and scaling of its "
            + "training), beside the naive and seasonal-naive baselines; says plainly when the model loses to one (--column defaults to the model's).");
        command.Options.Add(model);
        src.AddTo(command);
        command.Options.Add(season);
        command.Options.Add(json);
        command.SetAction(p =>
        {
            EvaluateCommand.Run(new EvaluateOptions
            {
                Model = p.GetValue(model)!,
                Source = src.Bind(p),
                Season = p.GetValue(season),
                Json = p.GetValue(json),
            }, output, error);
            return Cli.ExitOk;
        });
        return command;
    }

    private static Command Export(TextWriter output, TextWriter error)
    {
        var model = CliOptions.Text("--model", "The model (.rnnx)", "MODEL", required: true);
        var onnx = CliOptions.Text("--onnx", "The ONNX file to write (opset 17)", "FILE", required: true);
        var noStd = CliOptions.Flag("--no-standardization", "Leave the scaling and transform out of the graph (it then takes and returns scaled values)");
        var command = new Command("export", "Export a saved model to ONNX. A model trained by 'rnnx train' takes raw windows and returns raw forecasts "
            + "(its transform, per-window scaling and their inverses are part of the graph) unless --no-standardization.")
        {
            model, onnx, noStd,
        };
        command.SetAction(p =>
        {
            ExportCommand.Run(new ExportOptions(p.GetValue(model)!, p.GetValue(onnx)!, p.GetValue(noStd)), output, error);
            return Cli.ExitOk;
        });
        return command;
    }
}
