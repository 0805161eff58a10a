using Rnnx.Data;

namespace Rnnx.Onnx;

/// <summary>
/// A forecaster's window scaling (<see cref="SeriesScaler"/>) and value transform (<see cref="SeriesTransform"/>) as
/// ONNX nodes around the model, so that the exported graph maps raw windows to raw forecasts as
/// <c>SeriesScaler.Transform</c> → <c>Predict</c> → <c>SeriesScaler.Inverse</c> → <c>SeriesTransform.Inverse</c> do:
/// in float64, rounded to float32 where the library rounds (the transformed series, the model's inputs, the forecast
/// before the inverse transform, the result).
/// </summary>
internal static class OnnxSeriesScaling
{
    /// <summary>What <see cref="Unscale"/> needs from the input side: the transformed raw window, in float64.</summary>
    internal readonly record struct Reference(string Transformed);

    /// <summary>
    /// Nodes from the raw input (batch, lookback + steps, 1) to the model's input (batch, steps, 1): the transform,
    /// then the scaling.
    /// </summary>
    public static (string ModelInput, Reference Reference) Scale(OnnxGraph g, string raw, SeriesScaler scaler, SeriesTransform transform, int opset)
    {
        string t = transform.Kind == SeriesTransformKind.None
            ? ToDouble(g, raw, "transform/raw64")
            : ToDouble(g, ToFloat(g, Forward(g, ToDouble(g, raw, "transform/raw64"), transform), "transform/rounded"), "transform/transformed64");
        string x = scaler.Method switch
        {
            SeriesScaling.Difference => g.Op("Sub", "scale/differences", [Steps(g, t, 1, long.MaxValue, "scale/later"), Steps(g, t, 0, -1, "scale/earlier")]),
            _ => g.Op("Sub", "scale/centered", [t, Center(g, t, scaler, opset)]),
        };
        string scaled = g.Op("Div", "scale/scaled", [x, g.ConstantFloat64("scale/scale", scaler.Scale)]);
        return (ToFloat(g, scaled, "scale/model_input"), new Reference(t));
    }

    /// <summary>
    /// Nodes from the model's output (batch, horizon) or (batch, steps, horizon) to raw forecasts: the inverse scaling
    /// (differences summed back onto the last value), then the inverse transform.
    /// </summary>
    public static string Unscale(OnnxGraph g, string y, int outputRank, Reference reference, SeriesScaler scaler, SeriesTransform transform, int opset)
    {
        string scaled = g.Op("Mul", "unscale/scaled", [ToDouble(g, y, "unscale/output64"), g.ConstantFloat64("unscale/scale", scaler.Scale)]);
        string level = scaler.Method switch
        {
            SeriesScaling.Standard => g.ConstantFloat64("unscale/mean", scaler.Center),
            SeriesScaling.Difference => ToOutputRank(g, Steps(g, reference.Transformed, -1, long.MaxValue, "unscale/last"), outputRank),
            _ => ToOutputRank(g, Center(g, reference.Transformed, scaler, opset), outputRank),
        };
        if (scaler.Method == SeriesScaling.Difference)
            scaled = g.Op("CumSum", "unscale/summed", [scaled, g.ConstantInt64Scalar("unscale/horizon_axis", outputRank - 1)]);
        string f = ToFloat(g, g.Op("Add", "unscale/shifted", [scaled, level]), "unscale/forecast");
        if (transform.Kind == SeriesTransformKind.None) return f;
        return ToFloat(g, Backward(g, ToDouble(g, f, "untransform/forecast64"), transform), "untransform/forecast");
    }

    /// <summary>log x, or (x^λ − 1)/λ.</summary>
    private static string Forward(OnnxGraph g, string x, SeriesTransform transform) => transform.Lambda == 0
        ? g.Op("Log", "transform/log", [x])
        : g.Op("Div", "transform/box_cox", [
            g.Op("Sub", "transform/pow_minus_one", [g.Op("Pow", "transform/pow", [x, g.ConstantFloat64("transform/lambda", transform.Lambda)]), g.ConstantFloat64("transform/one", 1)]),
            g.ConstantFloat64("transform/lambda_divisor", transform.Lambda)]);

    /// <summary>exp y, or (λy + 1)^(1/λ) with the base clamped at 0 as <see cref="SeriesTransform.Backward"/> does.</summary>
    private static string Backward(OnnxGraph g, string y, SeriesTransform transform) => transform.Lambda == 0
        ? g.Op("Exp", "untransform/exp", [y])
        : g.Op("Pow", "untransform/power", [
            g.Op("Max", "untransform/clamped", [
                g.Op("Add", "untransform/base", [g.Op("Mul", "untransform/times_lambda", [y, g.ConstantFloat64("untransform/lambda", transform.Lambda)]), g.ConstantFloat64("untransform/one", 1)]),
                g.ConstantFloat64("untransform/zero", 0)]),
            g.ConstantFloat64("untransform/inverse_lambda", 1 / transform.Lambda)]);

    /// <summary>The per-window (or global) value subtracted before scaling, shaped (batch, 1, 1) or (1).</summary>
    private static string Center(OnnxGraph g, string t, SeriesScaler scaler, int opset) => scaler.Method switch
    {
        SeriesScaling.Standard => g.ConstantFloat64("scale/mean", scaler.Center),
        SeriesScaling.LastValue => Steps(g, t, -1, long.MaxValue, "scale/last_value"),
        SeriesScaling.WindowMean => opset >= 18
            ? g.Op("ReduceMean", "scale/window_mean", [t, g.ConstantInt64("scale/steps_axis", 1)], OnnxGraph.Attr.Int("keepdims", 1))
            : g.Op("ReduceMean", "scale/window_mean", [t], OnnxGraph.Attr.Ints("axes", 1), OnnxGraph.Attr.Int("keepdims", 1)),
        _ => throw new ArgumentOutOfRangeException(nameof(scaler), scaler.Method, "no center for this scaling"),
    };

    /// <summary>Steps [from, to) of (batch, steps, 1) along the time axis.</summary>
    private static string Steps(OnnxGraph g, string t, long from, long to, string hint) =>
        g.Op("Slice", hint, [t, g.ConstantInt64(hint + "/starts", from), g.ConstantInt64(hint + "/ends", to), g.ConstantInt64(hint + "/axes", 1)]);

    /// <summary>A (batch, 1, 1) reference reshaped to broadcast against an output of the given rank.</summary>
    private static string ToOutputRank(OnnxGraph g, string reference, int outputRank) =>
        outputRank == 2 ? g.Op("Flatten", "unscale/reference", [reference], OnnxGraph.Attr.Int("axis", 1)) : reference;

    private static string ToDouble(OnnxGraph g, string x, string hint) => g.Op("Cast", hint, [x], OnnxGraph.Attr.Int("to", OnnxGraph.Double));

    private static string ToFloat(OnnxGraph g, string x, string hint) => g.Op("Cast", hint, [x], OnnxGraph.Attr.Int("to", OnnxGraph.Float));
}
