using System.Text.Json.Nodes;
using Rnnx.Optimization;
using Rnnx.Optimizers;

namespace Rnnx.Saving;

/// <summary>Configs of the built-in optimizers and learning-rate schedules, for model files and checkpoints.</summary>
internal static class OptimizerSerializer
{
    /// <summary>The optimizer's class and hyperparameters (not its state), or just its class name for an unknown type.</summary>
    public static JsonObject Describe(IOptimizer optimizer)
    {
        var o = new JsonObject { ["class"] = optimizer.GetType().Name };
        if (optimizer is not Optimizer opt) return o;
        switch (opt)
        {
            case Nadam n:
                o["beta1"] = n.Beta1; o["beta2"] = n.Beta2; o["epsilon"] = n.Epsilon; o["schedule"] = n.MomentumSchedule.ToString();
                break;
            case Adam a:
                o["beta1"] = a.Beta1; o["beta2"] = a.Beta2; o["epsilon"] = a.Epsilon; o["amsgrad"] = a.Amsgrad;
                break;
            case Sgd s:
                o["momentum"] = s.Momentum; o["nesterov"] = s.Nesterov;
                break;
            case RmsProp r:
                o["rho"] = r.Rho; o["momentum"] = r.Momentum; o["epsilon"] = r.Epsilon; o["centered"] = r.Centered;
                break;
        }
        if (opt.ClipNorm is double cn) o["clipnorm"] = cn;
        if (opt.GlobalClipNorm is double gn) o["global_clipnorm"] = gn;
        if (opt.ClipValue is double cv) o["clipvalue"] = cv;
        if (opt.LearningRateSchedule is { } sched) o["learning_rate_schedule"] = DescribeSchedule(sched);
        return o;
    }

    private static JsonObject DescribeSchedule(ILearningRateSchedule s) => s switch
    {
        ExponentialDecay e => new JsonObject
        {
            ["class"] = nameof(ExponentialDecay),
            ["initial_learning_rate"] = e.InitialLearningRate,
            ["decay_steps"] = e.DecaySteps,
            ["decay_rate"] = e.DecayRate,
            ["staircase"] = e.Staircase,
        },
        PiecewiseConstant p => new JsonObject
        {
            ["class"] = nameof(PiecewiseConstant),
            ["boundaries"] = new JsonArray(p.Boundaries.Select(b => (JsonNode?)JsonValue.Create(b)).ToArray()),
            ["values"] = new JsonArray(p.Values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()),
        },
        _ => new JsonObject { ["class"] = s.GetType().Name },
    };

    /// <summary>Whether <see cref="Create"/> can re-create this optimizer.</summary>
    public static bool CanRecreate(IOptimizer optimizer) =>
        optimizer is Nadam or Adam or Sgd or RmsProp
        && (optimizer is not Optimizer o || o.LearningRateSchedule is null or ExponentialDecay or PiecewiseConstant);

    /// <summary>Creates an optimizer from its description, with <paramref name="learningRate"/> as its fixed rate.</summary>
    /// <exception cref="ModelFormatException">Unknown class or bad values.</exception>
    public static Optimizer Create(JsonObject o, double learningRate)
    {
        string cls = Str(o, "class");
        try
        {
            Optimizer opt = cls switch
            {
                nameof(Nadam) => new Nadam(learningRate, D(o, "beta1"), D(o, "beta2"), D(o, "epsilon"),
                    Str(o, "schedule") switch
                    {
                        "Keras3" => NadamSchedule.Keras3,
                        "Legacy" => NadamSchedule.Legacy,
                        var other => throw new ModelFormatException($"optimizer: unknown Nadam schedule '{other}'"),
                    }),
                nameof(Adam) => new Adam(learningRate, D(o, "beta1"), D(o, "beta2"), D(o, "epsilon"), B(o, "amsgrad")),
                nameof(Sgd) => new Sgd(learningRate, D(o, "momentum"), B(o, "nesterov")),
                nameof(RmsProp) => new RmsProp(learningRate, D(o, "rho"), D(o, "momentum"), D(o, "epsilon"), B(o, "centered")),
                _ => throw new ModelFormatException(
                    $"the optimizer '{cls}' cannot be re-created (built-ins: Nadam, Adam, Sgd, RmsProp); load with compile: false, compile the model yourself and call ModelIO.RestoreCheckpoint"),
            };
            if (o.ContainsKey("clipnorm")) opt.ClipNorm = D(o, "clipnorm");
            if (o.ContainsKey("global_clipnorm")) opt.GlobalClipNorm = D(o, "global_clipnorm");
            if (o.ContainsKey("clipvalue")) opt.ClipValue = D(o, "clipvalue");
            if (o.TryGetPropertyValue("learning_rate_schedule", out var s) && s is not null)
                opt.LearningRateSchedule = CreateSchedule(s as JsonObject ?? throw new ModelFormatException("optimizer: learning_rate_schedule is not an object"));
            return opt;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new ModelFormatException($"optimizer {cls}: {e.Message}", inner: e);
        }
    }

    private static ILearningRateSchedule CreateSchedule(JsonObject s)
    {
        string cls = Str(s, "class");
        return cls switch
        {
            nameof(ExponentialDecay) => new ExponentialDecay(D(s, "initial_learning_rate"), L(s, "decay_steps"), D(s, "decay_rate"), B(s, "staircase")),
            nameof(PiecewiseConstant) => new PiecewiseConstant(
                Arr(s, "boundaries").Select(n => n is JsonValue v && v.TryGetValue(out long l) ? l : throw new ModelFormatException("schedule boundaries must be integers")).ToList(),
                Arr(s, "values").Select(n => n is JsonValue v && v.TryGetValue(out double d) ? d : throw new ModelFormatException("schedule values must be numbers")).ToList()),
            _ => throw new ModelFormatException(
                $"the learning-rate schedule '{cls}' cannot be re-created (built-ins: ExponentialDecay, PiecewiseConstant); load with compile: false and compile the model yourself"),
        };
    }

    internal static string Str(JsonObject o, string key) =>
        o.TryGetPropertyValue(key, out var n) && n is JsonValue v && v.TryGetValue(out string? s) && s is not null ? s
        : throw new ModelFormatException($"optimizer: '{key}' is missing or not a string");

    internal static double D(JsonObject o, string key) =>
        o.TryGetPropertyValue(key, out var n) && n is JsonValue v && v.TryGetValue(out double d) && double.IsFinite(d) ? d
        : throw new ModelFormatException($"optimizer: '{key}' is missing or not a finite number");

    internal static long L(JsonObject o, string key) =>
        o.TryGetPropertyValue(key, out var n) && n is JsonValue v && v.TryGetValue(out long d) ? d
        : throw new ModelFormatException($"optimizer: '{key}' is missing or not an integer");

    private static bool B(JsonObject o, string key) =>
        o.TryGetPropertyValue(key, out var n) && n is JsonValue v && v.TryGetValue(out bool b) ? b
        : throw new ModelFormatException($"optimizer: '{key}' is missing or not true/false");

    private static JsonArray Arr(JsonObject o, string key) =>
        o.TryGetPropertyValue(key, out var n) && n is JsonArray a ? a : throw new ModelFormatException($"optimizer: '{key}' is missing or not an array");
}
