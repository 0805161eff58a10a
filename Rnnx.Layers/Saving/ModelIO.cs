using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Rnnx.Losses;
using Rnnx.Metrics;
using Rnnx.Models;
using Rnnx.Optimization;
using Rnnx.Random;

namespace Rnnx.Saving;

/// <summary>
/// Saving and loading models in the safetensors format.
/// <list type="bullet">
/// <item><see cref="SaveWeights"/>/<see cref="LoadWeights"/>: the weights only, named as <see cref="Model.NamedWeights"/> (<c>lstm/kernel</c>...).</item>
/// <item><see cref="Save"/>/<see cref="Load"/>: one <c>.rnnx</c> file with the architecture JSON in the safetensors
/// <c>__metadata__</c>, the weights, and (for a compiled model) loss, metrics, optimizer state and shuffle state.</item>
/// <item><see cref="LoadCheckpoint"/>/<see cref="RestoreCheckpoint"/>: resume training bit for bit.</item>
/// </list>
/// Files carry a CRC-32 of their bytes. Loading validates everything (header, JSON, dtypes, shapes against the
/// architecture, offsets, overlaps, missing or extra tensors, checksum) before touching any model, and reports any
/// problem as a <see cref="ModelFormatException"/>. Writes are atomic (temporary file, flush, rename).
/// </summary>
public static partial class ModelIO
{
    /// <summary>The conventional extension of whole-model files.</summary>
    public const string ModelExtension = ".rnnx";

    /// <summary>Prefix of the optimizer-slot tensors in a model file: <c>__optimizer__/lstm/kernel/momentum</c>.</summary>
    public const string OptimizerPrefix = "__optimizer__/";

    internal const string FormatKey = "rnnx.format";
    internal const string VersionKey = "rnnx.version";
    internal const string ArchitectureKey = "rnnx.architecture";
    internal const string CompileKey = "rnnx.compile";
    internal const string TrainingKey = "rnnx.training";
    internal const string UserPrefix = "user.";

    // ------------------------------------------------------------------ weights

    /// <summary>Saves the weights (built model) as safetensors, atomically.</summary>
    /// <exception cref="InvalidOperationException">The model is not built, or a mutation (Fit, SetWeights, ...) runs on another thread.</exception>
    public static void SaveWeights(Model model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        RequireBuilt(model);
        using var read = model.Access.Read(nameof(SaveWeights));
        var tensors = model.NamedWeights().Select(w => (w.Name, w.Parameter.Value)).ToList();
        var meta = new Dictionary<string, string> { [FormatKey] = "weights", [VersionKey] = "1" };
        AtomicFile.WriteAllBytes(path, SafeTensorsFile.Write(tensors, meta));
    }

    /// <summary>
    /// Loads weights saved by <see cref="SaveWeights"/> or <see cref="Save"/> (or any safetensors file with the same
    /// names, dtypes and shapes) into a model of the same architecture, building it first from its declared input
    /// shape if needed. Nothing changes unless the whole file is valid and matches.
    /// </summary>
    /// <param name="model">The model (built, or with a declared input shape).</param>
    /// <param name="path">The file.</param>
    /// <param name="options">Limits and switches (<see cref="ModelLoadOptions.Default"/> when null).</param>
    /// <exception cref="ModelFormatException">
    /// The file cannot be read (missing, a directory, no permission), is malformed, exceeds a limit of
    /// <paramref name="options"/>, holds non-finite values, or does not match the model (names, dtypes, shapes, missing
    /// or extra tensors). Raised for any file content; the model is then unchanged.
    /// </exception>
    /// <exception cref="InvalidOperationException">The model is not built and declares no input shape, or a prediction, evaluation or training runs on the model on another thread.</exception>
    public static void LoadWeights(Model model, string path, ModelLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options = Checked(options);
        LoadWeightsCore(model, Read(path, options), path, options);
    }

    /// <summary>Loads weights from the bytes of a file (tests and in-memory use); <paramref name="name"/> names it in messages.</summary>
    internal static void LoadWeightsFromBytes(Model model, byte[] bytes, string name, ModelLoadOptions? options = null)
    {
        options = Checked(options);
        LoadWeightsCore(model, Parse(bytes, name, options), name, options);
    }

    private static void LoadWeightsCore(Model model, SafeTensorsFile file, string path, ModelLoadOptions options)
    {
        if (!model.IsBuilt) model.Build();
        using var mutation = model.Access.Mutate(nameof(LoadWeights), reentrant: true);
        var pairs = Guard(path, () =>
        {
            CheckFormat(file);
            return MatchWeights(file, model, options);
        });
        foreach (var (p, e) in pairs) p.Assign(file.ToTensor(e));
    }

    // ------------------------------------------------------------------ whole model

    /// <summary>
    /// Saves the whole model in one file (conventionally <c>.rnnx</c>): architecture, weights and, for a compiled model
    /// with <see cref="SaveOptions.IncludeOptimizer"/>, the loss, metrics, optimizer (configuration and state) and the
    /// shuffle generator's state. Atomic.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is not built, or a mutation (Fit, SetWeights, ...) runs on another thread.</exception>
    public static void Save(Model model, string path, SaveOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        RequireBuilt(model);
        using var read = model.Access.Read(nameof(Save));
        options ??= new SaveOptions();
        var named = model.NamedWeights();
        var tensors = named.Select(w => (w.Name, w.Parameter.Value)).ToList();
        tensors.AddRange(StateTensors(model));
        var meta = new Dictionary<string, string>
        {
            [FormatKey] = "model",
            [VersionKey] = "1",
            [ArchitectureKey] = Architecture.Describe(model).ToJsonString(),
        };
        if (options.IncludeOptimizer && model.Optimizer is { } optimizer && model.Loss is { } loss)
        {
            var compile = new JsonObject
            {
                ["loss"] = loss.Name,
                ["metrics"] = new JsonArray(model.Metrics.Select(m => (JsonNode?)JsonValue.Create(m.Name)).ToArray()),
                ["optimizer"] = OptimizerSerializer.Describe(optimizer),
            };
            // Only options that differ from the defaults are written, so files of losses without options stay as before.
            if (loss.FromLogits || loss.LabelSmoothing != 0)
                compile["loss_config"] = LossConfig(loss);
            if (model.OutputLosses is { } outputLosses)
                compile["output_losses"] = new JsonArray(outputLosses.Select(l =>
                {
                    var o = new JsonObject { ["loss"] = l.Name };
                    if (l.FromLogits || l.LabelSmoothing != 0) o["loss_config"] = LossConfig(l);
                    return (JsonNode?)o;
                }).ToArray());
            if (model.OutputMetrics is { } outputMetrics)
                compile["output_metrics"] = new JsonArray(outputMetrics.Select(list =>
                    (JsonNode?)new JsonArray(list.Select(m => (JsonNode?)JsonValue.Create(m.Name)).ToArray())).ToArray());
            if (model.LossWeights is { } lossWeights)
                compile["loss_weights"] = new JsonArray(lossWeights.Select(w => (JsonNode?)JsonValue.Create(w)).ToArray());
            if (optimizer is ICheckpointableOptimizer opt)
            {
                var parameters = named.Select(w => w.Parameter).ToList();
                var state = opt.GetState(parameters);
                var scalars = new JsonObject();
                foreach (var (k, v) in state.Scalars) scalars[k] = v;
                compile["optimizer_state"] = new JsonObject
                {
                    ["iterations"] = state.Iterations,
                    ["learning_rate"] = state.LearningRate,
                    ["scalars"] = scalars,
                    ["slots"] = new JsonArray(opt.SlotNames.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray()),
                };
                for (int i = 0; i < named.Count; i++)
                    foreach (var slot in state.Parameters[i].Slots)
                    {
                        var shape = named[i].Parameter.Shape;
                        var t = slot.Float32 is not null ? Tensor.FromSpan<float>(slot.Float32, shape) : Tensor.FromSpan<double>(slot.Float64!, shape);
                        tensors.Add(($"{OptimizerPrefix}{named[i].Name}/{slot.Name}", t));
                    }
            }
            meta[CompileKey] = compile.ToJsonString();
        }
        var training = new JsonObject();
        if (options.Epoch is int epoch)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(epoch, nameof(options.Epoch));
            training["epoch"] = epoch;
        }
        if (options.IncludeOptimizer && model.ShuffleRngState is { } rng)
        {
            var key = new byte[rng.Key.Length * 4];
            Buffer.BlockCopy(rng.Key, 0, key, 0, key.Length);
            training["shuffle_rng"] = new JsonObject
            {
                ["key"] = Convert.ToBase64String(key),
                ["pos"] = rng.Position,
                ["has_gauss"] = rng.HasGauss,
                ["gauss"] = rng.Gauss,
            };
        }
        if (training.Count > 0) meta[TrainingKey] = training.ToJsonString();
        if (options.Metadata is { } user)
            foreach (var (k, v) in user)
            {
                ArgumentException.ThrowIfNullOrEmpty(k);
                meta[UserPrefix + k] = v ?? "";
            }
        AtomicFile.WriteAllBytes(path, SafeTensorsFile.Write(tensors, meta));
    }

    /// <summary>
    /// Loads a model saved by <see cref="Save"/>: re-creates its layers (custom ones through <see cref="LayerRegistry"/>),
    /// builds it and sets its weights, so <c>Predict</c> gives identical results. With <paramref name="compile"/> and
    /// compile settings in the file, the model is also compiled with its loss, metrics and optimizer, whose state
    /// and the shuffle generator's state are restored. No initializer runs: every weight is sized against the file
    /// and <paramref name="options"/> before it is allocated, then assigned from the file.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="compile">Re-create the compile settings (default true); false loads an uncompiled model, e.g. when the optimizer is custom.</param>
    /// <param name="options">Limits and switches (<see cref="ModelLoadOptions.Default"/> when null).</param>
    /// <exception cref="ModelFormatException">
    /// The file cannot be read, is malformed, is a weights-only file or was written by a newer Rnnx, exceeds a limit of
    /// <paramref name="options"/>, names an unregistered layer, loss, metric or optimizer, holds non-finite values or an
    /// invalid optimizer or training state, or its weights do not match its architecture. Raised for any file content.
    /// </exception>
    public static Sequential Load(string path, bool compile = true, ModelLoadOptions? options = null) =>
        AsSequential(LoadModel(path, compile, options), path);

    /// <summary>Loads a whole model, functional or <see cref="Sequential"/>, as <see cref="Load"/> does.</summary>
    /// <param name="path">The file.</param>
    /// <param name="compile">Re-create the compile settings (default true).</param>
    /// <param name="options">Limits and switches (<see cref="ModelLoadOptions.Default"/> when null).</param>
    /// <exception cref="ModelFormatException">As <see cref="Load"/>, for any file content.</exception>
    public static Model LoadModel(string path, bool compile = true, ModelLoadOptions? options = null)
    {
        options = Checked(options);
        return LoadCore(Read(path, options), path, compile, options).Model;
    }

    /// <summary>Loads a model from the bytes of a file (tests and in-memory use).</summary>
    internal static Sequential LoadFromBytes(byte[] bytes, string name, bool compile = true, ModelLoadOptions? options = null) =>
        AsSequential(LoadModelFromBytes(bytes, name, compile, options), name);

    /// <summary>Loads a model of any kind from the bytes of a file (tests and in-memory use).</summary>
    internal static Model LoadModelFromBytes(byte[] bytes, string name, bool compile = true, ModelLoadOptions? options = null)
    {
        options = Checked(options);
        return LoadCore(Parse(bytes, name, options), name, compile, options).Model;
    }

    private static Sequential AsSequential(Model model, string path) => model as Sequential
        ?? throw new ModelFormatException($"{path}: the file holds the functional model '{model.Name}', not a Sequential one; load it with Model.Load (ModelIO.LoadModel)");

    /// <summary>Reads what a file holds without building a model: its structure, format, metadata JSON syntax and training state are validated.</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">Limits (<see cref="ModelLoadOptions.Default"/> when null).</param>
    /// <exception cref="ModelFormatException">The file cannot be read, is malformed, exceeds a limit, or was written by a newer Rnnx. Raised for any file content.</exception>
    public static ModelFileInfo Inspect(string path, ModelLoadOptions? options = null)
    {
        options = Checked(options);
        return InspectCore(Read(path, options), path, options);
    }

    /// <summary>Inspects the bytes of a file (tests and in-memory use).</summary>
    internal static ModelFileInfo InspectBytes(byte[] bytes, string name, ModelLoadOptions? options = null)
    {
        options = Checked(options);
        return InspectCore(Parse(bytes, name, options), name, options);
    }

    private static ModelFileInfo InspectCore(SafeTensorsFile file, string path, ModelLoadOptions options) => Guard(path, () =>
    {
        CheckFormat(file);
        if (file.Metadata.TryGetValue(ArchitectureKey, out var arch)) Architecture.Parse(arch, options);
        ReadCompileJson(file, options);
        var (epoch, _) = ReadTraining(file, options);
        return new ModelFileInfo
        {
            Kind = file.Metadata.GetValueOrDefault(FormatKey) ?? "safetensors",
            Architecture = file.Metadata.GetValueOrDefault(ArchitectureKey),
            HasOptimizerState = file.Tensors.Any(t => t.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal)),
            Epoch = epoch,
            Metadata = UserMetadata(file),
            Tensors = file.Tensors.Select(t => (t.Name, t.DType, t.Shape)).ToList(),
        };
    });

    // ------------------------------------------------------------------ internals

    /// <summary>A loaded model of any kind with its training epoch and metadata.</summary>
    private sealed record LoadedModel(Model Model, int Epoch, IReadOnlyDictionary<string, string> Metadata);

    private static LoadedModel LoadCore(SafeTensorsFile file, string path, bool compile, ModelLoadOptions options)
    {
        return Guard(path, () =>
        {
            CheckFormat(file);
            if (!file.Metadata.TryGetValue(ArchitectureKey, out var archText))
                throw new ModelFormatException("the file holds no architecture (it is a weights file): create the model in code and call LoadWeights");
            var model = Architecture.Create(Architecture.Parse(archText, options), options, WeightValues(file));
            var pairs = MatchWeights(file, model, options);
            var setStates = MatchStates(file, model, options);
            var (epoch, rng) = ReadTraining(file, options);
            IOptimizer? optimizer = null;
            OptimizerState? state = null;
            Loss? loss = null;
            Loss[]? outputLosses = null;
            double[]? lossWeights = null;
            Metric[] metrics = [];
            Metric[][]? outputMetrics = null;
            var compileJson = compile ? ReadCompileJson(file, options) : null;
            if (compileJson is not null)
            {
                string lossName = OptimizerSerializer.Str(compileJson, "loss");
                loss = LayerRegistry.FindLoss(lossName)
                    ?? throw new ModelFormatException($"the loss '{lossName}' is unknown; register it with LayerRegistry.RegisterLoss or load with compile: false");
                loss = WithSavedOptions(loss, compileJson);
                (outputLosses, lossWeights) = ReadOutputLosses(compileJson);
                metrics = ReadMetrics(compileJson["metrics"], "compile.metrics");
                if (compileJson.TryGetPropertyValue("output_metrics", out var outputMetricsNode))
                {
                    var lists = outputMetricsNode as JsonArray ?? throw new ModelFormatException("compile: 'output_metrics' is not an array");
                    int outputs = Math.Max(1, model.Outputs.Count);
                    if (outputLosses is null || lists.Count != outputs)
                        throw new ModelFormatException($"compile: 'output_metrics' needs 'output_losses' and one list per output ({outputs}), got {lists.Count}");
                    outputMetrics = lists.Select((n, o) => ReadMetrics(n, $"compile.output_metrics[{o}]")).ToArray();
                }
                var optJson = compileJson["optimizer"] as JsonObject ?? throw new ModelFormatException("compile: 'optimizer' is missing or not an object");
                var stateJson = OptimizerStateJson(compileJson);
                double lr = stateJson is null ? 0.001 : OptimizerSerializer.D(stateJson, "learning_rate");
                optimizer = OptimizerSerializer.Create(optJson, lr);
                if (stateJson is not null)
                {
                    var checkpointable = optimizer as ICheckpointableOptimizer ?? throw new ModelFormatException(
                        $"the file holds optimizer state but the re-created optimizer ({optimizer.GetType().Name}) cannot restore it: it does not implement ICheckpointableOptimizer");
                    state = ReadOptimizerState(file, model, compileJson, checkpointable.GetConfig().ClassName, options);
                }
                else RefuseOptimizerTensors(file, "compile settings without 'optimizer_state'");
            }
            else if (!file.Metadata.ContainsKey(CompileKey))
                RefuseOptimizerTensors(file, "no compile settings");

            // Everything validated: apply.
            foreach (var (p, e) in pairs) p.Assign(file.ToTensor(e));
            setStates();
            if (optimizer is not null)
            {
                if (outputMetrics is not null) model.Compile(optimizer, outputLosses!, lossWeights, outputMetrics);
                else if (outputLosses is not null) model.Compile(optimizer, outputLosses, lossWeights, metrics);
                else model.Compile(optimizer, loss, metrics);
                if (state is not null)
                {
                    try
                    {
                        ((ICheckpointableOptimizer)optimizer).SetState(model.NamedWeights().Select(w => w.Parameter).ToList(), state);
                    }
                    catch (ArgumentException e)
                    {
                        throw new ModelFormatException($"the optimizer state is inconsistent: {e.Message}", inner: e);
                    }
                }
                if (rng is not null) model.ShuffleRngState = rng;
            }
            return new LoadedModel(model, epoch ?? 0, UserMetadata(file));
        });
    }

    private static void RequireBuilt(Model model)
    {
        if (!model.IsBuilt) throw new InvalidOperationException($"{model.Name}: build the model (Build, Fit, or a declared input shape and one Predict) before saving it.");
    }

    /// <summary>Pairs every model weight with its file tensor, checking names, dtypes and shapes both ways.</summary>
    private static List<(Parameter, SafeTensorEntry)> MatchWeights(SafeTensorsFile file, Model model, ModelLoadOptions options)
    {
        var named = model.NamedWeights();
        var pairs = new List<(Parameter, SafeTensorEntry)>(named.Count);
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, p) in named)
        {
            expected.Add(name);
            if (!file.ByName.TryGetValue(name, out var e))
                throw new ModelFormatException($"the weight '{name}' ({Dt(p.DType)} {ShapeText(p.Shape.ToArray())}) of the model is missing from the file");
            if (e.DType != p.DType)
                throw new ModelFormatException($"tensor '{name}' is {Dt(e.DType)} but the model's weight is {Dt(p.DType)}", offset: 8);
            if (!e.Shape.AsSpan().SequenceEqual(p.Shape.ToArray()))
                throw new ModelFormatException($"tensor '{name}' has shape {ShapeText(e.Shape)} but the model's weight has shape {ShapeText(p.Shape.ToArray())}", offset: 8);
            CheckValues(file, e, "weight", options);
            pairs.Add((p, e));
        }
        bool allowOptimizer = file.Metadata.GetValueOrDefault(FormatKey) == "model";
        foreach (var t in file.Tensors)
            if (!expected.Contains(t.Name) && !(allowOptimizer && (t.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal) || t.Name.StartsWith(StatePrefix, StringComparison.Ordinal))))
                throw new ModelFormatException($"tensor '{t.Name}' is not a weight of the model (an extra tensor); the model's weights are {string.Join(", ", expected)}", offset: file.FileOffset(t));
        return pairs;
    }

    /// <summary>A JSON array of metric names as registered metrics; <paramref name="where"/> names it in errors.</summary>
    private static Metric[] ReadMetrics(JsonNode? node, string where) =>
        (node as JsonArray ?? throw new ModelFormatException($"{where} is not an array"))
            .Select(n => n is JsonValue v && v.TryGetValue(out string? s) && s is not null
                ? LayerRegistry.FindMetric(s) ?? throw new ModelFormatException($"the metric '{s}' is unknown; register it with LayerRegistry.RegisterMetric or load with compile: false")
                : throw new ModelFormatException($"{where}: a metric name is not a string"))
            .ToArray();

    private static JsonObject LossConfig(Loss loss) => new() { ["from_logits"] = loss.FromLogits, ["label_smoothing"] = loss.LabelSmoothing };

    /// <summary>The per-output losses and loss weights of a model compiled with them (absent: null).</summary>
    private static (Loss[]? Losses, double[]? Weights) ReadOutputLosses(JsonObject compile)
    {
        Loss[]? losses = null;
        if (compile.TryGetPropertyValue("output_losses", out var lossesNode))
            losses = (lossesNode as JsonArray ?? throw new ModelFormatException("compile: 'output_losses' is not an array")).Select(n =>
            {
                if (n is not JsonObject o) throw new ModelFormatException("compile.output_losses: an entry is not an object");
                CheckKeys(o, "compile.output_losses", "loss", "loss_config");
                string name = OptimizerSerializer.Str(o, "loss");
                var l = LayerRegistry.FindLoss(name)
                    ?? throw new ModelFormatException($"the loss '{name}' is unknown; register it with LayerRegistry.RegisterLoss or load with compile: false");
                return WithSavedOptions(l, o);
            }).ToArray();
        double[]? weights = null;
        if (compile.TryGetPropertyValue("loss_weights", out var weightsNode))
            weights = (weightsNode as JsonArray ?? throw new ModelFormatException("compile: 'loss_weights' is not an array"))
                .Select(n => n is JsonValue v && v.TryGetValue(out double d) ? d : throw new ModelFormatException("compile.loss_weights: an entry is not a number"))
                .ToArray();
        if (weights is not null && losses is null) throw new ModelFormatException("compile: 'loss_weights' without 'output_losses'");
        return (losses, weights);
    }

    /// <summary>
    /// The loss re-created with its saved <c>from_logits</c> / <c>label_smoothing</c> (absent in older files: the
    /// defaults); options a loss does not have are refused rather than silently dropped.
    /// </summary>
    private static Loss WithSavedOptions(Loss loss, JsonObject compile)
    {
        if (!compile.TryGetPropertyValue("loss_config", out var node)) return loss;
        if (node is not JsonObject cfg) throw new ModelFormatException("compile: 'loss_config' is not an object");
        CheckKeys(cfg, "compile.loss_config", "from_logits", "label_smoothing");
        bool fromLogits = cfg.TryGetPropertyValue("from_logits", out var fl)
            ? fl is JsonValue v && v.TryGetValue(out bool b) ? b : throw new ModelFormatException("compile.loss_config: 'from_logits' is not true or false")
            : false;
        double smoothing = cfg.ContainsKey("label_smoothing") ? OptimizerSerializer.D(cfg, "label_smoothing") : 0;
        if (fromLogits == loss.FromLogits && smoothing == loss.LabelSmoothing) return loss;
        try
        {
            return Loss.WithOptions(loss.Name, fromLogits, smoothing);
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException($"compile.loss_config: {e.Message}", inner: e);
        }
    }

    private static JsonObject? ReadCompileJson(SafeTensorsFile file, ModelLoadOptions options)
    {
        if (!file.Metadata.TryGetValue(CompileKey, out var text)) return null;
        var compile = GuardedJson.ParseObject(text, "the compile settings", options.MaxJsonDepth);
        CheckKeys(compile, "compile", "loss", "loss_config", "output_losses", "loss_weights", "metrics", "output_metrics", "optimizer", "optimizer_state");
        return compile;
    }

    /// <summary>The <c>optimizer_state</c> object of the compile settings, null when absent; any other value is refused.</summary>
    private static JsonObject? OptimizerStateJson(JsonObject compile) =>
        !compile.TryGetPropertyValue("optimizer_state", out var node) ? null
        : node as JsonObject ?? throw new ModelFormatException($"compile: 'optimizer_state' is {node?.ToJsonString() ?? "null"}, not an object");

    private static void RefuseOptimizerTensors(SafeTensorsFile file, string why)
    {
        foreach (var t in file.Tensors)
            if (t.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
                throw new ModelFormatException($"the file holds optimizer tensors ('{t.Name}') but {why}", offset: file.FileOffset(t));
    }

    private static Dictionary<string, string> UserMetadata(SafeTensorsFile file) =>
        file.Metadata.Where(p => p.Key.StartsWith(UserPrefix, StringComparison.Ordinal)).ToDictionary(p => p.Key[UserPrefix.Length..], p => p.Value, StringComparer.Ordinal);

    private static string Dt(DType d) => d == DType.Float32 ? "F32" : "F64";

    private static string ShapeText(int[] s) => "[" + string.Join(", ", s.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";
}
