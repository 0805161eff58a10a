using Rnnx.Layers;

namespace Rnnx.Saving;

/// <summary>Configs and factories of the built-in layers and cells (Keras-style snake_case keys).</summary>
internal static class BuiltInLayers
{
    /// <summary>The config of a built-in layer from its public properties; an empty config for other types.</summary>
    public static LayerConfig GetConfig(Layer layer)
    {
        var c = new LayerConfig();
        switch (layer)
        {
            case Dense d:
                c.Set("units", d.Units).Set("activation", d.Activation).Set("use_bias", d.UseBias);
                break;
            case ActivationLayer a:
                c.Set("activation", a.Activation);
                break;
            case Conv1D v:
                c.Set("filters", v.Filters).Set("kernel_size", v.KernelSize).Set("strides", v.Strides).Set("padding", PaddingName(v.Padding))
                 .Set("dilation_rate", v.DilationRate).Set("activation", v.Activation).Set("use_bias", v.UseBias);
                break;
            case LayerNormalization n:
                c.Set("epsilon", n.Epsilon);
                break;
            case TimeDistributed t:
                c.Set("layer", t.Layer);
                break;
            case SimpleRNN s:
                {
                    var cell = (SimpleRNNCell)s.Cell;
                    c.Set("units", cell.Units).Set("activation", cell.Activation).Set("use_bias", cell.UseBias);
                    SetRnn(c, s);
                    break;
                }
            case LSTM l:
                {
                    var cell = (LSTMCell)l.Cell;
                    c.Set("units", cell.Units).Set("activation", cell.Activation).Set("recurrent_activation", cell.RecurrentActivation)
                     .Set("use_bias", cell.UseBias).Set("unit_forget_bias", cell.UnitForgetBias);
                    SetRnn(c, l);
                    break;
                }
            case GRU g:
                {
                    var cell = (GRUCell)g.Cell;
                    c.Set("units", cell.Units).Set("activation", cell.Activation).Set("recurrent_activation", cell.RecurrentActivation)
                     .Set("use_bias", cell.UseBias).Set("reset_after", cell.ResetAfter);
                    SetRnn(c, g);
                    break;
                }
            case RNN r when r.GetType() == typeof(RNN):
                c.Set("cell", r.Cell);
                SetRnn(c, r);
                break;
            case SimpleRNNCell s:
                c.Set("units", s.Units).Set("activation", s.Activation).Set("use_bias", s.UseBias);
                break;
            case LSTMCell l:
                c.Set("units", l.Units).Set("activation", l.Activation).Set("recurrent_activation", l.RecurrentActivation)
                 .Set("use_bias", l.UseBias).Set("unit_forget_bias", l.UnitForgetBias);
                break;
            case GRUCell g:
                c.Set("units", g.Units).Set("activation", g.Activation).Set("recurrent_activation", g.RecurrentActivation)
                 .Set("use_bias", g.UseBias).Set("reset_after", g.ResetAfter);
                break;
        }
        return c;
    }

    private static void SetRnn(LayerConfig c, RNN r) =>
        c.Set("return_sequences", r.ReturnSequences).Set("return_state", r.ReturnState).Set("go_backwards", r.GoBackwards);

    internal static string PaddingName(Conv1DPadding p) => p switch
    {
        Conv1DPadding.Valid => "valid",
        Conv1DPadding.Same => "same",
        _ => "causal",
    };

    /// <summary>Type, saved class name and factory of every built-in layer.</summary>
    public static IEnumerable<(Type Type, string Name, Func<LayerConfig, Layer> Factory)> Factories()
    {
        yield return (typeof(Dense), "Dense", c => new Dense(c.GetInt("units"), c.GetActivation("activation", Activation.Linear), c.GetBool("use_bias", true), c.InputShape, c.Name));
        yield return (typeof(Flatten), "Flatten", c => new Flatten(c.InputShape, c.Name));
        yield return (typeof(InputLayer), "InputLayer", c => new InputLayer(c.InputShape ?? throw new ModelFormatException($"{c.Context}: an InputLayer needs input_shape"), c.Name));
        yield return (typeof(ActivationLayer), "ActivationLayer", c => new ActivationLayer(c.GetActivation("activation"), c.Name));
        yield return (typeof(Conv1D), "Conv1D", c => new Conv1D(c.GetInt("filters"), c.GetInt("kernel_size"), c.GetInt("strides", 1), c.GetString("padding", "valid")!,
            c.GetInt("dilation_rate", 1), c.GetActivation("activation", Activation.Linear), c.GetBool("use_bias", true), c.InputShape, c.Name));
        yield return (typeof(LayerNormalization), "LayerNormalization", c => new LayerNormalization(c.GetDouble("epsilon", 1e-3), c.InputShape, c.Name));
        yield return (typeof(TimeDistributed), "TimeDistributed", c => new TimeDistributed(c.GetLayer("layer"), c.InputShape, c.Name));
        yield return (typeof(RNN), "RNN", c => new RNN(c.GetLayer<RecurrentCell>("cell"), c.GetBool("return_sequences", false), c.GetBool("return_state", false),
            c.GetBool("go_backwards", false), c.InputShape, c.Name));
        yield return (typeof(SimpleRNN), "SimpleRNN", c => new SimpleRNN(c.GetInt("units"), c.GetActivation("activation", Activation.Tanh), c.GetBool("use_bias", true),
            c.GetBool("return_sequences", false), c.GetBool("return_state", false), c.GetBool("go_backwards", false), c.InputShape, c.Name));
        yield return (typeof(LSTM), "LSTM", c => new LSTM(c.GetInt("units"), c.GetActivation("activation", Activation.Tanh), c.GetActivation("recurrent_activation", Activation.Sigmoid),
            c.GetBool("use_bias", true), c.GetBool("unit_forget_bias", true), c.GetBool("return_sequences", false), c.GetBool("return_state", false),
            c.GetBool("go_backwards", false), c.InputShape, c.Name));
        yield return (typeof(GRU), "GRU", c => new GRU(c.GetInt("units"), c.GetActivation("activation", Activation.Tanh), c.GetActivation("recurrent_activation", Activation.Sigmoid),
            c.GetBool("use_bias", true), c.GetBool("reset_after", true), c.GetBool("return_sequences", false), c.GetBool("return_state", false),
            c.GetBool("go_backwards", false), c.InputShape, c.Name));
        yield return (typeof(SimpleRNNCell), "SimpleRNNCell", c => new SimpleRNNCell(c.GetInt("units"), c.GetActivation("activation", Activation.Tanh), c.GetBool("use_bias", true), c.Name));
        yield return (typeof(LSTMCell), "LSTMCell", c => new LSTMCell(c.GetInt("units"), c.GetActivation("activation", Activation.Tanh), c.GetActivation("recurrent_activation", Activation.Sigmoid),
            c.GetBool("use_bias", true), c.GetBool("unit_forget_bias", true), c.Name));
        yield return (typeof(GRUCell), "GRUCell", c => new GRUCell(c.GetInt("units"), c.GetActivation("activation", Activation.Tanh), c.GetActivation("recurrent_activation", Activation.Sigmoid),
            c.GetBool("use_bias", true), c.GetBool("reset_after", true), c.Name));
    }
}
