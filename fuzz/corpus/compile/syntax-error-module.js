import { from "x";
export default 1
